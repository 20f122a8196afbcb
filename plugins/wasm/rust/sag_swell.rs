//! sag-swell: an example Makai WebAssembly plugin in Rust (ABI version 1, docs/wasm-plugins.md).
//!
//! The rule (the same as test/fixtures/plugins/sag-swell.ts and plugins/wasm/c/sag_swell.c):
//! a measurement is out of band when |rms - nominalVoltage| > nominalVoltage * thresholdPercent / 100.
//! The first out-of-band measurement opens an episode; every box that goes out of band while it
//! is open joins it; the episode closes when every box that went out of band has sent an in-band
//! measurement again. It is reported (one request for all its boxes) when it lasted at least
//! minDurationMs, from its first out-of-band measurement to the latest measurement of its boxes.
//!
//! Build with Debian's rustc and libstd-rust-dev-wasm32 (no cargo, no crates, no imports):
//!   rustc --target wasm32-unknown-unknown --crate-type cdylib -O -o sag-swell.wasm sag_swell.rs

#![no_std]

use core::panic::PanicInfo;

const ABI_VERSION: i32 = 1;
/// Measurements per `makai_push` call (records of 5 f64).
const INPUT_CAPACITY: usize = 256;
/// Boxes one episode tracks; a further box is ignored until the episode closes.
const MAX_BOXES: usize = 64;
/// At most one request per measurement, each at most 6 + MAX_BOXES f64.
const OUTPUT_CAPACITY: usize = (INPUT_CAPACITY + 1) * (6 + MAX_BOXES);
/// TRIGGER_TYPE of src/protocol/messages.ts.
const VOLTAGE_SAG: f64 = 3.0;
const VOLTAGE_SWELL: f64 = 4.0;

/// A panic is a trap: the host counts it and restarts the plugin from a fresh instance.
#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

struct Plugin {
    nominal_voltage: f64,
    min_duration_ms: f64,
    limit_volts: f64,
    open: bool,
    start_ms: f64,
    end_ms: f64,
    worst_volts: f64,
    worst_type: f64,
    /// Sorted ascending.
    members: [i32; MAX_BOXES],
    member_count: usize,
    active: [i32; MAX_BOXES],
    active_count: usize,
}

// The buffers are statics of their own: all zeros, so they take no room in the module file.
static mut INPUT: [f64; INPUT_CAPACITY * 5] = [0.0; INPUT_CAPACITY * 5];
static mut OUTPUT: [f64; OUTPUT_CAPACITY] = [0.0; OUTPUT_CAPACITY];

static mut PLUGIN: Plugin = Plugin {
    nominal_voltage: 120.0,
    min_duration_ms: 0.0,
    limit_volts: 12.0,
    open: false,
    start_ms: 0.0,
    end_ms: 0.0,
    worst_volts: 0.0,
    worst_type: VOLTAGE_SAG,
    members: [0; MAX_BOXES],
    member_count: 0,
    active: [0; MAX_BOXES],
    active_count: 0,
};

// A WebAssembly instance is single-threaded and the host never re-enters it, so these
// references to the statics are never aliased.
fn plugin() -> &'static mut Plugin {
    unsafe { &mut *core::ptr::addr_of_mut!(PLUGIN) }
}

fn input() -> &'static mut [f64; INPUT_CAPACITY * 5] {
    unsafe { &mut *core::ptr::addr_of_mut!(INPUT) }
}

fn output() -> &'static mut [f64; OUTPUT_CAPACITY] {
    unsafe { &mut *core::ptr::addr_of_mut!(OUTPUT) }
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
    OUTPUT_CAPACITY as i32
}

#[no_mangle]
pub extern "C" fn makai_init(count: i32) -> i32 {
    plugin().init(count as usize)
}

#[no_mangle]
pub extern "C" fn makai_push(count: i32) -> i32 {
    plugin().push(count as usize)
}

#[no_mangle]
pub extern "C" fn makai_finish() -> i32 {
    let p = plugin();
    if !p.open {
        return 0;
    }
    if p.close_episode(0) > 0 { 1 } else { 0 }
}

impl Plugin {
    fn init(&mut self, count: usize) -> i32 {
        let mut nominal = self.nominal_voltage;
        let mut percent = 10.0;
        for s in 0..count {
            let record = &input()[s * 5..s * 5 + 5];
            let mut name = [0u8; 32];
            for (i, value) in record[..4].iter().enumerate() {
                name[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
            }
            let length = name.iter().position(|&b| b == 0).unwrap_or(32);
            let name = &name[..length];
            let value = record[4];
            let problem = match name {
                b"nominalVoltage" if value > 0.0 => { nominal = value; None }
                b"nominalVoltage" => Some(&b"must be a positive number of volts"[..]),
                b"thresholdPercent" if value > 0.0 && value < 100.0 => { percent = value; None }
                b"thresholdPercent" => Some(&b"must be a percentage between 0 and 100"[..]),
                b"minDurationMs" if value >= 0.0 => { self.min_duration_ms = value; None }
                b"minDurationMs" => Some(&b"must be a number of milliseconds >= 0"[..]),
                _ => Some(&b"unknown setting (sag-swell takes nominalVoltage, thresholdPercent, minDurationMs)"[..]),
            };
            if let Some(reason) = problem {
                return self.refuse(name, reason);
            }
        }
        self.nominal_voltage = nominal;
        self.limit_volts = nominal * percent / 100.0;
        0
    }

    /// Writes "<name>: <reason>" at the output buffer and returns its length in bytes.
    fn refuse(&mut self, name: &[u8], reason: &[u8]) -> i32 {
        let mut message = [0u8; 256];
        let mut n = 0;
        for part in [name, &b": "[..], reason] {
            let take = part.len().min(message.len() - n);
            message[n..n + take].copy_from_slice(&part[..take]);
            n += take;
        }
        for (i, chunk) in message.chunks(8).enumerate() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            output()[i] = f64::from_le_bytes(bytes);
        }
        n as i32
    }

    fn push(&mut self, count: usize) -> i32 {
        let mut requests = 0;
        let mut out = 0;
        for m in 0..count {
            let id = input()[m * 5] as i32;
            let time = input()[m * 5 + 1];
            let deviation = input()[m * 5 + 3] - self.nominal_voltage;
            let volts = if deviation < 0.0 { -deviation } else { deviation };
            let beyond = volts > self.limit_volts;
            let kind = if deviation < 0.0 { VOLTAGE_SAG } else { VOLTAGE_SWELL };
            if !self.open {
                if !beyond {
                    continue;
                }
                self.open = true;
                self.start_ms = time;
                self.end_ms = time;
                self.worst_volts = volts;
                self.worst_type = kind;
                self.add_member(id);
                self.active[0] = id;
                self.active_count = 1;
                continue;
            }
            let mut member = self.members[..self.member_count].contains(&id);
            if !member && beyond && self.member_count < MAX_BOXES {
                self.add_member(id);
                member = true;
            }
            if !member {
                continue;
            }
            if time > self.end_ms {
                self.end_ms = time;
            }
            let at = self.active[..self.active_count].iter().position(|&a| a == id);
            if beyond {
                if at.is_none() {
                    self.active[self.active_count] = id;
                    self.active_count += 1;
                }
                if volts > self.worst_volts {
                    self.worst_volts = volts;
                    self.worst_type = kind;
                }
            } else if let Some(at) = at {
                self.active_count -= 1;
                self.active[at] = self.active[self.active_count];
                if self.active_count == 0 {
                    let written = self.close_episode(out);
                    if written > 0 {
                        requests += 1;
                    }
                    out += written;
                }
            }
        }
        requests
    }

    fn add_member(&mut self, id: i32) {
        let mut i = self.member_count;
        self.member_count += 1;
        while i > 0 && self.members[i - 1] > id {
            self.members[i] = self.members[i - 1];
            i -= 1;
        }
        self.members[i] = id;
    }

    /// Reports the episode at `out` when long enough, and forgets it; returns the f64 written.
    fn close_episode(&mut self, out: usize) -> usize {
        let mut written = 0;
        if self.end_ms - self.start_ms >= self.min_duration_ms {
            let o = &mut output()[out..];
            o[0] = self.start_ms;
            o[1] = self.end_ms;
            o[2] = self.worst_type;
            o[3] = self.worst_volts / self.nominal_voltage * 100.0;
            o[4] = 1.0; // requestData
            o[5] = self.member_count as f64;
            for i in 0..self.member_count {
                o[6 + i] = self.members[i] as f64;
            }
            written = 6 + self.member_count;
        }
        self.open = false;
        self.member_count = 0;
        self.active_count = 0;
        written
    }
}
