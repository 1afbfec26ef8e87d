// A fallback meter with the kernel's token-bucket model (net/openvswitch/
// meter.c, ovs_meter_execute): each band's bucket fills at its rate per
// millisecond since the meter was last used, up to burst × 1000; a packet
// costs its bits (kbps meters) or 1000 (packets/s meters, so buckets count
// thousandths of packets); every band that cannot pay is exceeded, and the
// exceeded band with the highest rate acts: a drop band drops the packet.
// Time comes in as milliseconds of the monotonic clock, so the model is pure.
import type { MeterBandConfig, MeterConfig } from '../dpif/dpif.js';

const OVS_METER_BAND_TYPE_DROP = 1;

export interface MeterBandState {
  readonly type: number;
  readonly rate: number;
  readonly burst: number;
  bucket: number;
  packets: number;
  bytes: number;
}

export class Meter {
  readonly id: number;
  readonly kbps: boolean;
  readonly bands: MeterBandState[];
  /** Whether a SET that replaces this meter reports its stats (created without CLEAR). */
  readonly keepStats: boolean;
  /** Longest gap the buckets are filled for: the time the slowest band needs to fill. */
  private readonly maxDeltaMs: number;
  used: number;
  packets = 0;
  bytes = 0;

  constructor(cfg: MeterConfig, nowMs: number) {
    this.id = cfg.id;
    this.kbps = cfg.kbps ?? false;
    this.keepStats = !cfg.clear;
    this.bands = cfg.bands.map((b: MeterBandConfig) => ({
      type: b.type ?? OVS_METER_BAND_TYPE_DROP,
      rate: b.rate,
      burst: b.burst,
      // Buckets start full.
      bucket: b.burst * 1000,
      packets: 0,
      bytes: 0,
    }));
    let maxDelta = 0;
    for (const b of this.bands) if (b.rate) maxDelta = Math.max(maxDelta, Math.ceil((b.burst * 1000) / b.rate));
    this.maxDeltaMs = maxDelta;
    this.used = nowMs;
  }

  /** Meters one packet of `len` bytes at `nowMs`; true: drop it. */
  execute(len: number, nowMs: number): boolean {
    let delta = nowMs - this.used;
    if (delta < 0) delta = 0;
    if (delta > this.maxDeltaMs) delta = this.maxDeltaMs;
    this.used = nowMs;
    this.packets++;
    this.bytes += len;
    const cost = this.kbps ? len * 8 : 1000;
    let exceeded = -1;
    let exceededRate = 0;
    for (let i = 0; i < this.bands.length; i++) {
      const b = this.bands[i];
      b.bucket = Math.min(b.bucket + delta * b.rate, b.burst * 1000);
      if (b.bucket >= cost) b.bucket -= cost;
      else if (b.rate > exceededRate) {
        exceededRate = b.rate;
        exceeded = i;
      }
    }
    if (exceeded < 0) return false;
    const b = this.bands[exceeded];
    b.packets++;
    b.bytes += len;
    return b.type === OVS_METER_BAND_TYPE_DROP;
  }
}
