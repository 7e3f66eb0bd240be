import { MsgIdCache, DUP_MSG_CHECK_SIZE } from './dedupe';

it('remembers the last 16 ids, like oslo _MsgIdCache', () => {
  expect(DUP_MSG_CHECK_SIZE).toBe(16);
  const c = new MsgIdCache();
  for (let i = 0; i < 16; i++) c.add(`id${i}`);
  expect(c.has('id0')).toBe(true);
  c.add('id0'); // re-adding does not refresh or duplicate
  c.add('id16');
  expect(c.has('id0')).toBe(false);
  expect(c.has('id1')).toBe(true);
  expect(c.has('id16')).toBe(true);
});
