// Sending replies the way amqpdriver.py AMQPIncomingMessage.reply does:
// mandatory publish to the default exchange with the caller's reply queue as
// routing key; if no queue takes it (the caller is reconnecting after a broker
// restart and has not redeclared its queue yet) retry every 250 ms up to
// kombu_missing_consumer_retry_timeout, then remember the queue as obsolete
// for a minute so later replies to a dead caller are dropped at once instead
// of each waiting the full timeout (ObsoleteReplyQueuesCache).
import { MessageUndeliverable, type ConnectionManager } from './connection';
import { MessageDeliveryFailure } from './errors';
import type { Logger } from './logger';
import { publishProperties, serializeMsg, type ReplyMessage } from './wire';

const RETRY_EVERY_MS = 250;
const OBSOLETE_SIZE = 200;
const OBSOLETE_TTL_MS = 60_000;

export class ObsoleteReplyQueues {
  private readonly entries = new Map<string, number>(); // queue -> expiry (ms epoch)

  constructor(private readonly now: () => number = Date.now) {}

  has(queue: string): boolean {
    const exp = this.entries.get(queue);
    if (exp === undefined) return false;
    if (exp <= this.now()) {
      this.entries.delete(queue);
      return false;
    }
    return true;
  }

  add(queue: string): void {
    this.entries.delete(queue);
    this.entries.set(queue, this.now() + OBSOLETE_TTL_MS);
    while (this.entries.size > OBSOLETE_SIZE) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

export class ReplySender {
  private readonly obsolete = new ObsoleteReplyQueues();

  constructor(
    private readonly conn: ConnectionManager,
    private readonly log: Logger,
    /** seconds (kombu_missing_consumer_retry_timeout, 60) */
    private readonly retryTimeout: number,
  ) {}

  /** Send a final reply; retries until delivered or the retry timeout passes. Never throws. */
  async send(replyQ: string, reply: ReplyMessage, body?: Buffer): Promise<boolean> {
    if (this.obsolete.has(replyQ)) {
      this.log.warn({ replyQ, msgId: reply._msg_id }, "reply queue doesn't exist, drop reply");
      return false;
    }
    const payload = body ?? serializeMsg(reply);
    const deadline = Date.now() + this.retryTimeout * 1000;
    for (;;) {
      const left = deadline - Date.now();
      try {
        await this.conn.publish(null, replyQ, payload, publishProperties(), {
          mandatory: true,
          uniqueId: reply._unique_id,
          connectWaitMs: Math.max(0, left),
        });
        return true;
      } catch (err) {
        const missing = err instanceof MessageUndeliverable;
        const hopeless = !(err instanceof MessageDeliveryFailure) || this.conn.closed;
        if (hopeless || Date.now() + RETRY_EVERY_MS >= deadline) {
          if (missing) this.obsolete.add(replyQ);
          this.log.error(
            { replyQ, msgId: reply._msg_id, err: (err as Error).message, afterSeconds: this.retryTimeout },
            'failed to send reply; abandoning',
          );
          return false;
        }
        this.log.debug({ replyQ, msgId: reply._msg_id, missing }, 'reply not delivered yet; retrying');
        await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
      }
    }
  }

  /**
   * Call-monitor heartbeat: one attempt, no retry (a missed beat is covered by
   * the next one; oslo's watchdog gives up on failure). Skipped while disconnected.
   */
  async heartbeat(replyQ: string, beat: ReplyMessage): Promise<boolean> {
    if (!this.conn.isConnected() || this.obsolete.has(replyQ)) return false;
    try {
      await this.conn.publish(null, replyQ, serializeMsg(beat), publishProperties(), {
        mandatory: true,
        uniqueId: beat._unique_id,
        connectWaitMs: 0,
      });
      return true;
    } catch (err) {
      this.log.debug(
        { replyQ, msgId: beat._msg_id, err: (err as Error).message },
        'call-monitor heartbeat failed',
      );
      return false;
    }
  }
}
