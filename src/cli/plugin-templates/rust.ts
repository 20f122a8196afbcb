import { TEMPLATE_RULE, templateTest, type PluginTemplate } from './template.js';

/** `--lang rust`: a WebAssembly plugin in Rust, built with plain rustc (no cargo, no crates). */
export const rustTemplate: PluginTemplate = {
  summary: 'a WebAssembly plugin in Rust (rustc --target wasm32-unknown-unknown, no_std; no cargo, no crates)',
  entryFile: (name) => `${name}.wasm`,
  nextSteps: (name) => ['./build.sh', `node --import tsx --test ${name}.test.ts`],
  files: (name) => [
    {
      path: `${name}.rs`,
      content: `//! ${name}: a Makai WebAssembly plugin in Rust (ABI version 1: Makai's docs/wasm-plugins.md).
//!
//! ${TEMPLATE_RULE.replace(/\n/g, '\n//! ')}
//!
//! Everything is plain numbers in this module's own memory: the host writes settings and
//! measurements into \`INPUT\` and reads requests from \`OUTPUT\`. no_std and no imports, so the
//! module can touch nothing else; time is the boxes' timestamps. Build: ./build.sh

#![no_std]

const ABI_VERSION: i32 = 1;
/// Measurements per \`makai_push\` (records of 5 f64).
const INPUT_CAPACITY: usize = 256;
/// start, end, type, percent, requestData, box count, box id.
const REQUEST_F64: usize = 7;
/// Boxes in a sag at once; more are ignored until one recovers.
const MAX_SAGS: usize = 1024;
/// TRIGGER_TYPE in Makai's src/protocol/messages.ts.
const VOLTAGE_SAG: f64 = 3.0;

/// A panic is a trap: Makai counts it and restarts the plugin from a fresh instance.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[derive(Clone, Copy)]
struct Sag {
    boxid: i32,
    count: u32,
    start_ms: f64,
    lowest_volts: f64,
}

struct State {
    nominal_voltage: f64,
    min_messages: f64,
    limit_volts: f64,
    sags: [Sag; MAX_SAGS],
    sag_count: usize,
}

static mut INPUT: [f64; INPUT_CAPACITY * 5] = [0.0; INPUT_CAPACITY * 5];
/// At most one request per measurement; also holds an init error message.
static mut OUTPUT: [f64; INPUT_CAPACITY * REQUEST_F64] = [0.0; INPUT_CAPACITY * REQUEST_F64];
static mut STATE: State = State {
    nominal_voltage: 120.0,
    min_messages: 3.0,
    limit_volts: 108.0,
    sags: [Sag { boxid: 0, count: 0, start_ms: 0.0, lowest_volts: 0.0 }; MAX_SAGS],
    sag_count: 0,
};

// An instance is single-threaded and the host never re-enters it: these are never aliased.
fn input() -> &'static mut [f64; INPUT_CAPACITY * 5] {
    unsafe { &mut *core::ptr::addr_of_mut!(INPUT) }
}
fn output() -> &'static mut [f64; INPUT_CAPACITY * REQUEST_F64] {
    unsafe { &mut *core::ptr::addr_of_mut!(OUTPUT) }
}
fn state() -> &'static mut State {
    unsafe { &mut *core::ptr::addr_of_mut!(STATE) }
}

#[no_mangle]
pub extern "C" fn makai_abi_version() -> i32 {
    ABI_VERSION
}
#[no_mangle]
pub extern "C" fn makai_input() -> *mut f64 {
    input().as_mut_ptr()
}
#[no_mangle]
pub extern "C" fn makai_input_capacity() -> i32 {
    INPUT_CAPACITY as i32
}
#[no_mangle]
pub extern "C" fn makai_output() -> *mut f64 {
    output().as_mut_ptr()
}
#[no_mangle]
pub extern "C" fn makai_output_capacity() -> i32 {
    (INPUT_CAPACITY * REQUEST_F64) as i32
}

/// A setting record is a NUL-padded name (32 bytes) and its value (an f64).
#[no_mangle]
pub extern "C" fn makai_init(count: i32) -> i32 {
    let s = state();
    let (mut nominal, mut percent) = (s.nominal_voltage, 10.0);
    for i in 0..count as usize {
        let record = &input()[i * 5..i * 5 + 5];
        let mut name = [0u8; 32];
        for (j, word) in record[..4].iter().enumerate() {
            name[j * 8..j * 8 + 8].copy_from_slice(&word.to_le_bytes());
        }
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(32)];
        let value = record[4];
        let problem: Option<&[u8]> = match name {
            b"nominalVoltage" if value > 0.0 => { nominal = value; None }
            b"nominalVoltage" => Some(b"must be a positive number of volts"),
            b"sagPercent" if value > 0.0 && value < 100.0 => { percent = value; None }
            b"sagPercent" => Some(b"must be a percentage between 0 and 100"),
            b"minMessages" if value >= 1.0 && value <= 1e9 && value == (value as u32) as f64 => { s.min_messages = value; None }
            b"minMessages" => Some(b"must be a whole number from 1 to 1e9"),
            _ => Some(b"unknown setting"),
        };
        if let Some(reason) = problem {
            return refuse(name, reason);
        }
    }
    s.nominal_voltage = nominal;
    s.limit_volts = nominal * (1.0 - percent / 100.0);
    0
}

/// Writes "<name>: <reason>" at the output buffer and returns its length in bytes.
fn refuse(name: &[u8], reason: &[u8]) -> i32 {
    let bytes = unsafe { core::slice::from_raw_parts_mut(output().as_mut_ptr() as *mut u8, 8 * INPUT_CAPACITY * REQUEST_F64) };
    let mut n = 0;
    for part in [name, b": ", reason] {
        bytes[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    n as i32
}

#[no_mangle]
pub extern "C" fn makai_push(count: i32) -> i32 {
    let s = state();
    let mut requests = 0;
    for m in 0..count as usize {
        let boxid = input()[m * 5] as i32;
        let (time_ms, rms) = (input()[m * 5 + 1], input()[m * 5 + 3]);
        let at = s.sags[..s.sag_count].iter().position(|sag| sag.boxid == boxid);
        if rms < s.limit_volts {
            match at {
                Some(i) => {
                    let sag = &mut s.sags[i];
                    sag.count += 1;
                    if rms < sag.lowest_volts {
                        sag.lowest_volts = rms;
                    }
                }
                None if s.sag_count < MAX_SAGS => {
                    s.sags[s.sag_count] = Sag { boxid, count: 1, start_ms: time_ms, lowest_volts: rms };
                    s.sag_count += 1;
                }
                None => {}
            }
            continue;
        }
        // (No let-else: Debian's rustc is 1.63.)
        let i = match at {
            Some(i) => i,
            None => continue,
        };
        let sag = s.sags[i];
        s.sag_count -= 1;
        s.sags[i] = s.sags[s.sag_count];
        if (sag.count as f64) < s.min_messages {
            continue;
        }
        let out = &mut output()[requests * REQUEST_F64..(requests + 1) * REQUEST_F64];
        out.copy_from_slice(&[
            sag.start_ms,
            time_ms,
            VOLTAGE_SAG,
            (s.nominal_voltage - sag.lowest_volts) / s.nominal_voltage * 100.0,
            1.0, // requestData
            1.0, // box count
            boxid as f64,
        ]);
        requests += 1;
    }
    requests as i32
}

/// The input completed: a sag still open is not reported (it has not recovered).
#[no_mangle]
pub extern "C" fn makai_finish() -> i32 {
    0
}
`,
    },
    {
      path: 'build.sh',
      executable: true,
      content: `#!/usr/bin/env bash
# Builds ${name}.wasm with rustc alone (Debian: apt-get install rustc libstd-rust-dev-wasm32;
# or rustup with the wasm32-unknown-unknown target). RUSTC overrides the compiler.
set -euo pipefail
cd "$(dirname "$0")"
"\${RUSTC:-rustc}" --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib --crate-name ${name.replace(/-/g, '_')} \\
  -O -C strip=symbols -o ${name}.wasm ${name}.rs
`,
    },
    templateTest(name, `${name}.wasm`, './build.sh'),
  ],
};
