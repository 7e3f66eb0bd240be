/**
 * Failures the agent sends back as real nova.exception classes: the shim's
 * oslo client rebuilds them natively (nova.exception is in Nova's allowed
 * remote exception modules), so nova-compute reacts as with any driver:
 * InstanceNotFound during delete is fine, InvalidInput and ImageUnacceptable
 * abort a build with a readable fault instead of rescheduling it.
 * kwargs must match each class's msg_fmt (nova/exception.py, Zed).
 */
import { OsloError } from '@berth/oslo-rpc';

const nova = (className: string, message: string, kwargs: Record<string, unknown>) =>
  new OsloError({ className, module: 'nova.exception', message, kwargs, args: [] });

export const NovaErrors = {
  instanceNotFound: (uuid: string) =>
    nova('InstanceNotFound', `Instance ${uuid} could not be found.`, { instance_id: uuid, code: 404 }),
  invalidInput: (reason: string) =>
    nova('InvalidInput', `Invalid input received: ${reason}`, { reason, code: 400 }),
  imageUnacceptable: (imageId: string, reason: string) =>
    nova('ImageUnacceptable', `Image ${imageId} is unacceptable: ${reason}`, {
      image_id: imageId,
      reason,
      code: 400,
    }),
  imageNotFound: (imageId: string) =>
    nova('ImageNotFound', `Image ${imageId} could not be found.`, { image_id: imageId, code: 404 }),
  deployFailure: (reason: string) =>
    nova('InstanceDeployFailure', `Failed to deploy instance: ${reason}`, { reason, code: 400 }),
  rebootFailure: (reason: string) =>
    nova('InstanceRebootFailure', `Failed to reboot instance: ${reason}`, { reason }),
  powerOnFailure: (reason: string) =>
    nova('InstancePowerOnFailure', `Failed to power on instance: ${reason}`, { reason }),
  powerOffFailure: (reason: string) =>
    nova('InstancePowerOffFailure', `Failed to power off instance: ${reason}`, { reason }),
  suspendFailure: (reason: string) =>
    nova('InstanceSuspendFailure', `Failed to suspend instance: ${reason}`, { reason }),
  resumeFailure: (reason: string) =>
    nova('InstanceResumeFailure', `Failed to resume instance: ${reason}`, { reason }),
  terminationFailure: (reason: string) =>
    nova('InstanceTerminationFailure', `Failed to terminate instance: ${reason}`, { reason }),
  hypervisorUnavailable: () =>
    nova('HypervisorUnavailable', 'Connection to the hypervisor is broken on host', {}),
  vifPlugFailed: (reason?: string) =>
    nova(
      'VirtualInterfacePlugException',
      reason ? `Virtual interface plugin failed: ${reason}` : 'Virtual interface plugin failed',
      {},
    ),
  interfaceAttachFailed: (uuid: string, reason: string) =>
    nova('InterfaceAttachFailed', `Failed to attach network adapter device to ${uuid}: ${reason}`, {
      instance_uuid: uuid,
    }),
  internal: (message: string) => nova('NovaException', message, { message }),
};
