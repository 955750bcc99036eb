// Which queued jobs a worker trains together: same model, quantisation and gradient checkpointing
// (MultiTrainer checkpoints every job of a run or none), causal LMs only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRecipe } from '../../src/cli/recipe/load.js';
import { sharedBaseKey, trainsWithCheckpointing } from '../../src/queue/job-data.js';
import { RECIPE, tempDir } from '../cli/helpers.js';
import { recipeOverrides } from './helpers.js';

const recipeWith = (...set: string[]) => loadRecipe(RECIPE, recipeOverrides(tempDir(), set));

test('queue: jobs with gradient checkpointing share a base with each other, not with jobs without it', async () => {
  const plain = await recipeWith('training.seed=1');
  const plainToo = await recipeWith('training.seed=2', 'training.lr=0.01');
  const checkpointed = await recipeWith('training.gradient_checkpointing=true');
  const checkpointedToo = await recipeWith('training.gradient_checkpointing=true', 'training.seed=3');
  assert.equal(trainsWithCheckpointing(plain), false);
  assert.equal(trainsWithCheckpointing(checkpointed), true);
  assert.notEqual(sharedBaseKey(plain), null);
  assert.notEqual(sharedBaseKey(checkpointed), null, 'a checkpointed job trains in a concurrent run too');
  assert.equal(sharedBaseKey(plain), sharedBaseKey(plainToo));
  assert.equal(sharedBaseKey(checkpointed), sharedBaseKey(checkpointedToo));
  assert.notEqual(sharedBaseKey(plain), sharedBaseKey(checkpointed));
});
