/*
 * sag-swell: an example Makai WebAssembly plugin in C (ABI version 1, docs/wasm-plugins.md).
 *
 * The rule (the same as test/fixtures/plugins/sag-swell.ts and plugins/wasm/rust/sag_swell.rs):
 * a measurement is out of band when |rms - nominalVoltage| > nominalVoltage * thresholdPercent / 100.
 * The first out-of-band measurement opens an episode; every box that goes out of band while it
 * is open joins it; the episode closes when every box that went out of band has sent an in-band
 * measurement again. It is reported (one request for all its boxes) when it lasted at least
 * minDurationMs, from its first out-of-band measurement to the latest measurement of its boxes.
 *
 * Build (no libc, no imports: the module can touch nothing but its own memory):
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic -o sag-swell.wasm sag_swell.c
 */

#define EXPORT __attribute__((visibility("default")))

enum { ABI_VERSION = 1 };
/* Measurements per makai_push call (records of 5 doubles). */
enum { INPUT_CAPACITY = 256 };
/* Boxes one episode tracks; a further box is ignored until the episode closes. */
enum { MAX_BOXES = 64 };
/* At most one request per measurement, each at most 6 + MAX_BOXES doubles. */
enum { OUTPUT_CAPACITY = (INPUT_CAPACITY + 1) * (6 + MAX_BOXES) };
/* TRIGGER_TYPE of src/protocol/messages.ts. */
enum { VOLTAGE_SAG = 3, VOLTAGE_SWELL = 4 };

static double input[INPUT_CAPACITY * 5];
static double output[OUTPUT_CAPACITY];

static double nominal_voltage = 120;
static double threshold_percent = 10;
static double min_duration_ms = 0;
static double limit_volts = 12;

static int open;
static double start_ms, end_ms, worst_volts;
static int worst_type;
static int members[MAX_BOXES]; /* sorted ascending */
static int member_count;
static int active[MAX_BOXES];
static int active_count;

EXPORT int makai_abi_version(void) { return ABI_VERSION; }
EXPORT double *makai_input(void) { return input; }
EXPORT int makai_input_capacity(void) { return INPUT_CAPACITY; }
EXPORT double *makai_output(void) { return output; }
EXPORT int makai_output_capacity(void) { return OUTPUT_CAPACITY; }

static int same_name(const char *name, const char *expected) {
  int i = 0;
  for (; i < 32 && expected[i] != 0; i++) if (name[i] != expected[i]) return 0;
  return i < 32 && name[i] == 0;
}

/* Writes "<name>: <reason>" at the output buffer and returns its length in bytes. */
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
    if (same_name(name, "nominalVoltage")) {
      if (!(value > 0)) return refuse(name, "must be a positive number of volts");
      nominal_voltage = value;
    } else if (same_name(name, "thresholdPercent")) {
      if (!(value > 0 && value < 100)) return refuse(name, "must be a percentage between 0 and 100");
      threshold_percent = value;
    } else if (same_name(name, "minDurationMs")) {
      if (!(value >= 0)) return refuse(name, "must be a number of milliseconds >= 0");
      min_duration_ms = value;
    } else {
      return refuse(name, "unknown setting (sag-swell takes nominalVoltage, thresholdPercent, minDurationMs)");
    }
  }
  limit_volts = nominal_voltage * threshold_percent / 100;
  return 0;
}

static int index_of(const int *ids, int n, int id) {
  for (int i = 0; i < n; i++) if (ids[i] == id) return i;
  return -1;
}

static void add_member(int id) {
  int i = member_count++;
  while (i > 0 && members[i - 1] > id) { members[i] = members[i - 1]; i--; }
  members[i] = id;
}

/* Reports the episode when long enough, and forgets it; returns the doubles written. */
static int close_episode(double *out) {
  int written = 0;
  if (end_ms - start_ms >= min_duration_ms) {
    out[0] = start_ms;
    out[1] = end_ms;
    out[2] = worst_type;
    out[3] = worst_volts / nominal_voltage * 100;
    out[4] = 1; /* requestData */
    out[5] = member_count;
    for (int i = 0; i < member_count; i++) out[6 + i] = members[i];
    written = 6 + member_count;
  }
  open = 0;
  member_count = 0;
  active_count = 0;
  return written;
}

EXPORT int makai_push(int count) {
  int requests = 0;
  double *out = output;
  for (int m = 0; m < count; m++) {
    const double *record = &input[m * 5];
    int id = (int)record[0];
    double time = record[1];
    double deviation = record[3] - nominal_voltage;
    double volts = __builtin_fabs(deviation);
    int beyond = volts > limit_volts;
    int type = deviation < 0 ? VOLTAGE_SAG : VOLTAGE_SWELL;
    if (!open) {
      if (!beyond) continue;
      open = 1;
      start_ms = end_ms = time;
      worst_volts = volts;
      worst_type = type;
      add_member(id);
      active[active_count++] = id;
      continue;
    }
    int member = index_of(members, member_count, id) >= 0;
    if (!member && beyond && member_count < MAX_BOXES) {
      add_member(id);
      member = 1;
    }
    if (!member) continue;
    if (time > end_ms) end_ms = time;
    int at = index_of(active, active_count, id);
    if (beyond) {
      if (at < 0) active[active_count++] = id;
      if (volts > worst_volts) {
        worst_volts = volts;
        worst_type = type;
      }
    } else if (at >= 0) {
      active[at] = active[--active_count];
      if (active_count == 0) {
        int written = close_episode(out);
        if (written > 0) requests++;
        out += written;
      }
    }
  }
  return requests;
}

EXPORT int makai_finish(void) {
  if (!open) return 0;
  return close_episode(output) > 0 ? 1 : 0;
}
