import { pathToFileURL } from 'node:url';
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register as registerEsm } from 'tsx/esm/api';

let typescriptEnabled = false;

/**
 * Import a user module by path: an app's `rpcs` or the config file. tsx's
 * loaders are registered once, before the first such import, so TypeScript
 * sources run on plain Node without a build step. Both of them: in a
 * project whose package.json has no `"type": "module"`, a `.ts` file is
 * CommonJS to Node, and without tsx's require hook Node 20 fails to load it.
 */
export function importSource(file: string): Promise<Record<string, unknown>> {
  if (!typescriptEnabled) {
    registerEsm();
    registerCommonJs();
    typescriptEnabled = true;
  }
  return import(pathToFileURL(file).href);
}
