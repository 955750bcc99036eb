// One method in its own process: node --import tsx bench/methods/worker.ts <work folder> <method name>
// Prints the method's result as one JSON line on stdout (the pipeline reads the last line).
import { finetuneMethod } from './finetune.js';
import { selectMethods } from '../../src/quickstart/methods.js';
import { readWorkerInput } from './pipeline.js';

const [workDir, name] = process.argv.slice(2);
if (workDir === undefined || name === undefined) {
  console.error('usage: worker.ts <work folder> <method name>');
  process.exit(2);
}
const { checkpointDir, data, settings } = readWorkerInput(workDir);
const result = await finetuneMethod(selectMethods([name])[0]!, checkpointDir, data, settings);
process.stdout.write(JSON.stringify(result) + '\n');
