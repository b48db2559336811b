import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

let typescriptEnabled = false;

/**
 * Import a user module by path: an app's `rpcs` or the config file. tsx's
 * loader is registered once, before the first such import, so TypeScript
 * sources run on plain Node without a build step.
 */
export function importSource(file: string): Promise<Record<string, unknown>> {
  if (!typescriptEnabled) {
    register();
    typescriptEnabled = true;
  }
  return import(pathToFileURL(file).href);
}
