// Parquet (hyparquet, pure JavaScript): every row group of the file, as records.
import { parquetReadObjects } from 'hyparquet';
import { DataError } from '../errors.js';
import type { ReadResult } from './row.js';

export async function readParquet(file: string, bytes: Uint8Array): Promise<ReadResult> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let records: Record<string, unknown>[];
  try {
    records = await parquetReadObjects({ file: buffer });
  } catch (error) {
    throw new DataError(`${file}: not a readable Parquet file (${(error as Error).message})`);
  }
  return { rows: records.map((values, i) => ({ values, where: `${file}#${i + 1}` })), unreadable: [] };
}
