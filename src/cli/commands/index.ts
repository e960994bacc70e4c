import type { Command } from 'commander';
import { register as registerImages } from './images.js';
import { register as registerPack } from './pack.js';
import { register as registerVerify } from './verify.js';
import { register as registerInspect } from './inspect.js';
import { register as registerLoad } from './load.js';
import { register as registerServe } from './serve.js';

/** Every command, in the order --help lists them. */
export function registerCommands(program: Command): void {
  void program;
  registerImages(program);
  registerPack(program);
  registerVerify(program);
  registerInspect(program);
  registerLoad(program);
  registerServe(program);
}
