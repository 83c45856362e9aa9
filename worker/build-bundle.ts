/** `npm run build` step: bundles the workflow code once so workers start without webpack. */
import fs from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { prebuiltBundlePath, workflowsEntry } from './workflow-bundle';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry() });
  fs.writeFileSync(prebuiltBundlePath(), code);
  console.log(`workflow bundle: ${prebuiltBundlePath()} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
