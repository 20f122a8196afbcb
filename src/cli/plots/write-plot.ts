import { spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { StreamError } from '../../core/errors.js';

/** A plot that could not be written; the message says why and what to do. */
export class PlotWriteError extends StreamError {
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`cannot write ${file}: ${message}`, options);
    this.file = file;
  }
}

/**
 * Writes an SVG document to `file`. A `.png` file is rendered from the SVG by `rsvg-convert`
 * (librsvg) when it is on the PATH; Makai has no image library of its own.
 *
 * @returns The number of bytes written.
 * @throws PlotWriteError (rejected) when the file cannot be written or PNG conversion is not possible.
 */
export async function writePlot(file: string, svg: string): Promise<number> {
  const extension = extname(file).toLowerCase();
  if (extension === '.png') return svgToPng(file, svg);
  if (extension !== '.svg') throw new PlotWriteError(file, 'plots are written as .svg (or .png with rsvg-convert installed)');
  const bytes = Buffer.from(svg, 'utf8');
  try {
    await writeFile(file, bytes);
  } catch (error) {
    throw new PlotWriteError(file, error instanceof Error ? error.message : String(error), { cause: error });
  }
  return bytes.length;
}

function svgToPng(file: string, svg: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('rsvg-convert', ['--format', 'png', '--output', file], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'ENOENT' ? 'PNG needs rsvg-convert (librsvg) on the PATH; write a .svg instead' : error.message;
      reject(new PlotWriteError(file, hint, { cause: error }));
    });
    child.on('close', (code) => {
      if (code === 0) stat(file).then((info) => resolve(info.size), reject);
      else reject(new PlotWriteError(file, `rsvg-convert failed (${code ?? 'killed'}): ${stderr.trim()}`));
    });
    // An EPIPE when rsvg-convert is missing is reported by the 'error' handler above.
    child.stdin.on('error', () => undefined);
    child.stdin.end(svg);
  });
}
