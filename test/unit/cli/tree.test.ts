import { describe, expect, it } from 'vitest';
import { locateTree } from '../../../lib/cli/tree.js';

describe('locateTree', () => {
  it('keeps lib/memory state beside the standard .brv/context-tree', () => {
    expect(locateTree('/p/.brv/context-tree')).toEqual({
      treeRoot: '/p/.brv/context-tree',
      projectRoot: '/p',
      stateDir: '/p/.brv/claw-byterover',
    });
  });
  it('gives any other tree its own state dir next to it (two trees never share a manifest)', () => {
    expect(locateTree('/p/notes')).toEqual({
      treeRoot: '/p/notes',
      projectRoot: '/p',
      stateDir: '/p/.notes.claw-byterover',
    });
    expect(locateTree('/p/other').stateDir).not.toBe(locateTree('/p/notes').stateDir);
  });
});
