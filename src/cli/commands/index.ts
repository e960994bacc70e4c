import type { Command } from 'commander';
import { register as registerImages } from './images.js';

/** Every command, in the order --help lists them. */
export function registerCommands(program: Command): void {
  void program;
  registerImages(program);
}
