/**
 * Loads a second, independent copy of the package's public surface, the way a program ends up
 * with two copies when two dependencies each install their own rxjs-quiche.
 *
 * @returns The exports of a fresh evaluation of `src/index.ts`: new class objects, same code.
 */
export function loadSecondCopy(): typeof import('../../src/index') {
  let copy: typeof import('../../src/index') | undefined;
  jest.isolateModules(() => {
    copy = require('../../src/index') as typeof import('../../src/index');
  });
  if (copy === undefined) throw new Error('jest.isolateModules did not run its callback');
  return copy;
}
