// A few mails through a model folder and a saved classification adapter, as a user would load
// them: the class each gets and its probability.
import { PeftModel } from '../../peft/index.js';
import { noGrad, tidy } from '../../tensor/index.js';
import { ExampleDataset } from '../../train/data/index.js';
import { openModel, openTokenizer } from '../model-folder.js';

export interface Classified {
  text: string;
  /** The mail's true label. */
  label: string;
  predicted: string;
  /** The probability of `predicted`. */
  probability: number;
}

export async function classifyTexts(
  modelDir: string,
  adapterDir: string,
  mails: readonly { text: string; label: string }[],
  labelNames: readonly string[],
  maxLength: number,
): Promise<Classified[]> {
  const tokenizer = await openTokenizer(modelDir);
  const id2label = Object.fromEntries(labelNames.map((name, i) => [i, name]));
  const base = await openModel(modelDir, 'sequence-classification', { id2label });
  const model = await PeftModel.fromPretrained(base, adapterDir);
  model.eval();
  const examples = mails.map((m) => ({ inputIds: tokenizer.encode(m.text, { truncation: true, maxLength }), labels: labelNames.indexOf(m.label) }));
  const batch = new ExampleDataset(examples, { padTokenId: tokenizer.padTokenId ?? 0 }).batch(examples.map((_, i) => i));
  const probabilities = noGrad(() => tidy(() => model.forward(batch).logits.softmax(-1).toFlatArray()));
  return mails.map((mail, row) => {
    const scores = probabilities.slice(row * labelNames.length, (row + 1) * labelNames.length);
    const best = scores.indexOf(Math.max(...scores));
    return { text: mail.text, label: mail.label, predicted: labelNames[best]!, probability: scores[best]! };
  });
}
