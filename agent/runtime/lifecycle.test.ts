import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../../test/support/links.js';
import { Lifecycle } from './lifecycle.js';

describe('Lifecycle', () => {
  it('undoes in reverse order, once, and goes on past an undo that throws', async () => {
    const { log, lines } = recordingLogger();
    const life = new Lifecycle(log);
    const order: string[] = [];
    life.defer(() => order.push('a'));
    life.defer(() => {
      throw new Error('b failed');
    });
    life.defer(async () => {
      await Promise.resolve();
      order.push('c');
    });
    await life.close();
    await life.close();
    expect(order).toEqual(['c', 'a']);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['debug', 'not stopped cleanly']]);
  });

  it('starting: a start-up that throws undoes what it had started, and rethrows', async () => {
    const life = new Lifecycle(recordingLogger().log);
    const undone: string[] = [];
    await expect(
      life.starting(async () => {
        life.defer(() => undone.push('socket'));
        throw new Error('port taken');
      }),
    ).rejects.toThrow('port taken');
    expect(undone).toEqual(['socket']);
  });
});
