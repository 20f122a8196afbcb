import { TEMPLATE_RULE, templateTest, type PluginTemplate } from './template.js';

/** `--lang c`: a WebAssembly plugin in C, built with clang + lld, no libc. */
export const cTemplate: PluginTemplate = {
  summary: 'a WebAssembly plugin in C (clang --target=wasm32, lld; no libc, no imports)',
  entryFile: (name) => `${name}.wasm`,
  nextSteps: (name) => ['./build.sh', `node --import tsx --test ${name}.test.ts`],
  files: (name) => [
    {
      path: `${name}.c`,
      content: `/*
 * ${name}: a Makai WebAssembly plugin in C (ABI version 1: Makai's docs/wasm-plugins.md).
 *
 * ${TEMPLATE_RULE.replace(/\n/g, '\n * ')}
 *
 * Everything is plain numbers in this module's own memory: the host writes settings and
 * measurements into \`input\` and reads requests from \`output\`. No libc and no imports, so the
 * module can touch nothing else; time is the boxes' timestamps. Build: ./build.sh
 */
#define EXPORT __attribute__((visibility("default")))

enum { ABI_VERSION = 1 };
enum { INPUT_CAPACITY = 256 };   /* measurements per makai_push (records of 5 doubles) */
enum { REQUEST_DOUBLES = 7 };    /* start, end, type, percent, requestData, box count, box id */
enum { MAX_SAGS = 1024 };        /* boxes in a sag at once; more are ignored until one recovers */
enum { VOLTAGE_SAG = 3 };        /* TRIGGER_TYPE in Makai's src/protocol/messages.ts */

static double input[INPUT_CAPACITY * 5];
/* At most one request per measurement; also holds an init error message. */
static double output[INPUT_CAPACITY * REQUEST_DOUBLES];

static double nominal_voltage = 120, sag_percent = 10, min_messages = 3, limit_volts;

struct sag { int box; int count; double start_ms; double lowest_volts; };
static struct sag sags[MAX_SAGS];
static int sag_count;

EXPORT int makai_abi_version(void) { return ABI_VERSION; }
EXPORT double *makai_input(void) { return input; }
EXPORT int makai_input_capacity(void) { return INPUT_CAPACITY; }
EXPORT double *makai_output(void) { return output; }
EXPORT int makai_output_capacity(void) { return INPUT_CAPACITY * REQUEST_DOUBLES; }

/* A setting record is a NUL-padded name (32 bytes) and its value (a double). */
static int is(const char *name, const char *expected) {
  int i = 0;
  for (; i < 32 && expected[i] != 0; i++) if (name[i] != expected[i]) return 0;
  return i < 32 && name[i] == 0;
}

/* Writes "<name>: <reason>" at the output buffer; makai_init returns its length. */
static int refuse(const char *name, const char *reason) {
  char *out = (char *)output;
  int n = 0;
  for (int i = 0; i < 32 && name[i] != 0; i++) out[n++] = name[i];
  out[n++] = ':';
  out[n++] = ' ';
  for (int i = 0; reason[i] != 0; i++) out[n++] = reason[i];
  return n;
}

EXPORT int makai_init(int count) {
  for (int s = 0; s < count; s++) {
    const char *name = (const char *)&input[s * 5];
    double value = input[s * 5 + 4];
    if (is(name, "nominalVoltage")) {
      if (!(value > 0)) return refuse(name, "must be a positive number of volts");
      nominal_voltage = value;
    } else if (is(name, "sagPercent")) {
      if (!(value > 0 && value < 100)) return refuse(name, "must be a percentage between 0 and 100");
      sag_percent = value;
    } else if (is(name, "minMessages")) {
      /* Compared before the conversion: converting an out-of-range double to int traps. */
      if (!(value >= 1 && value <= 1e9 && value == (double)(int)value)) return refuse(name, "must be a whole number from 1 to 1e9");
      min_messages = value;
    } else {
      return refuse(name, "unknown setting");
    }
  }
  limit_volts = nominal_voltage * (1 - sag_percent / 100);
  return 0;
}

EXPORT int makai_push(int count) {
  int requests = 0;
  for (int m = 0; m < count; m++) {
    int box = (int)input[m * 5];
    double time_ms = input[m * 5 + 1], rms = input[m * 5 + 3];
    int at = -1;
    for (int i = 0; i < sag_count; i++) if (sags[i].box == box) { at = i; break; }
    if (rms < limit_volts) {
      if (at >= 0) {
        sags[at].count += 1;
        if (rms < sags[at].lowest_volts) sags[at].lowest_volts = rms;
      } else if (sag_count < MAX_SAGS) {
        sags[sag_count++] = (struct sag){ box, 1, time_ms, rms };
      }
      continue;
    }
    if (at < 0) continue;
    struct sag sag = sags[at];
    sags[at] = sags[--sag_count];
    if (sag.count < min_messages) continue;
    double *out = &output[requests++ * REQUEST_DOUBLES];
    out[0] = sag.start_ms;
    out[1] = time_ms;
    out[2] = VOLTAGE_SAG;
    out[3] = (nominal_voltage - sag.lowest_volts) / nominal_voltage * 100;
    out[4] = 1; /* requestData */
    out[5] = 1; /* box count */
    out[6] = box;
  }
  return requests;
}

/* The input completed: a sag still open is not reported (it has not recovered). */
EXPORT int makai_finish(void) { return 0; }
`,
    },
    {
      path: 'build.sh',
      executable: true,
      content: `#!/usr/bin/env bash
# Builds ${name}.wasm (Debian: apt-get install clang lld). CLANG overrides the compiler.
set -euo pipefail
cd "$(dirname "$0")"
"\${CLANG:-clang}" --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic -o ${name}.wasm ${name}.c
`,
    },
    templateTest(name, `${name}.wasm`, './build.sh'),
  ],
};
