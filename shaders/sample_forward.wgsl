// sample_forward: one token per row of logits, on the GPU, so decoding never reads a logits row back.
// greedy: argmax (lowest index on ties). Otherwise, with w_i = exp((logit_i - max) * invTemperature):
//   top-k: keep the topK largest logits (ties with the k-th kept; topK 0 or >= V keeps all);
//   top-p: of those, keep the fewest highest-logit tokens whose mass reaches topP of the top-k mass, as
//          Hugging Face applies top-p after top-k (topP 1 keeps all);
//   draw u in [0, 1) from a PCG hash of (seed, step) and pick the kept token where the kept mass, summed
//   in index order, first passes u * keptMass.
// Both filters are thresholds on an order-preserving u32 key of the logits, found by bisection with
// workgroup reductions (nothing is sorted). src/ref/sample.ts repeats every f32 operation in the same order.
// A row holding a NaN or infinite logit gets NON_FINITE_LOGITS instead of a token.
// Reads logits, seeds; writes outIds (no accumulation).
@group(0) @binding(0) var<storage, read_write> outIds: array<u32>; // (B)
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // (B, V)
@group(0) @binding(2) var<storage, read> seeds: array<u32>;        // (B)
struct Params { B: u32, V: u32, step: u32, greedy: u32, invTemperature: f32, topK: u32, topP: f32 }
@group(0) @binding(3) var<uniform> p: Params;

const WG = 256u;
const NONE = 0xffffffffu;
const NON_FINITE_LOGITS = 0xffffffffu; // as exported by src/kernels/sample.ts
var<workgroup> redF: array<f32, WG>;
var<workgroup> redU: array<u32, WG>;
var<workgroup> redLo: array<u32, WG>;
var<workgroup> redHi: array<u32, WG>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// By the bits (an all-ones exponent): WGSL lets float operations assume NaN and infinities never occur.
fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// Order-preserving key: a < b exactly when key(a) < key(b) (and -0 sorts just below +0).
fn key(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  return select(bits | 0x80000000u, ~bits, (bits >> 31u) == 1u);
}

// The tokens of a row split by a key threshold: how many are kept (key >= threshold), their mass, the
// smallest kept key and the largest dropped key (0 when none is dropped).
struct Split { count: u32, mass: f32, minKept: u32, maxDropped: u32 }

fn split(tid: u32, base: u32, threshold: u32, rowMax: f32, withMass: bool) -> Split {
  var s = Split(0u, 0.0, NONE, 0u);
  // Strided: neighbouring invocations read neighbouring logits. Mass partials are summed in index order.
  for (var i = tid; i < p.V; i += WG) {
    let l = logits[base + i];
    let k = key(l);
    if (k >= threshold) {
      s.count += 1u;
      if (withMass) { s.mass += exp((l - rowMax) * p.invTemperature); }
      s.minKept = min(s.minKept, k);
    } else {
      s.maxDropped = max(s.maxDropped, k);
    }
  }
  workgroupBarrier(); // the previous reduction's results have been read
  redU[tid] = s.count;
  redF[tid] = s.mass;
  redLo[tid] = s.minKept;
  redHi[tid] = s.maxDropped;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (tid < stride) {
      redU[tid] += redU[tid + stride];
      redF[tid] += redF[tid + stride];
      redLo[tid] = min(redLo[tid], redLo[tid + stride]);
      redHi[tid] = max(redHi[tid], redHi[tid + stride]);
    }
  }
  return Split(workgroupUniformLoad(&redU[0]), workgroupUniformLoad(&redF[0]),
               workgroupUniformLoad(&redLo[0]), workgroupUniformLoad(&redHi[0]));
}

// The highest threshold whose kept set still holds topK tokens (byMass false) or reaches `goalMass` mass
// (byMass true), given `lo`, which does, and `hi`, which does not. Each step halves the key range and
// snaps the bound it moves to the nearest logit (the kept set is unchanged), so the search ends as soon as
// no logit lies between the bounds. The row's max is always kept (every mid < hi <= key(max) + 1).
fn search(tid: u32, base: u32, rowMax: f32, lo0: u32, hi0: u32, byMass: bool, goalMass: f32) -> u32 {
  var lo = lo0;
  var hi = hi0;
  loop {
    if (hi - lo <= 1u) { break; }
    let mid = lo + (hi - lo) / 2u;
    let s = split(tid, base, mid, rowMax, byMass);
    if (select(s.count >= p.topK, s.mass >= goalMass, byMass)) {
      lo = s.minKept;
      if (!byMass && s.count == p.topK) { break; } // exactly k kept: no higher threshold keeps k
    } else {
      hi = s.maxDropped + 1u;
    }
  }
  return lo;
}

// Dispatch: grid2(B) workgroups of 256, one per row.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= p.B) { return; }
  let base = b * p.V;

  // Argmax, lowest index on ties: each invocation scans upwards, the tree prefers the lower index.
  // The same pass counts non-finite logits (redLo, summed).
  var best = NONE;
  var bestValue = 0.0;
  var nonFinite = 0u;
  for (var i = tid; i < p.V; i += WG) {
    let l = logits[base + i];
    if (best == NONE || l > bestValue) { best = i; bestValue = l; }
    if (!isFinite(l)) { nonFinite += 1u; }
  }
  redF[tid] = bestValue;
  redU[tid] = best;
  redLo[tid] = nonFinite;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (tid < stride) {
      let v = redF[tid + stride];
      let j = redU[tid + stride];
      if (j != NONE && (redU[tid] == NONE || v > redF[tid] || (v == redF[tid] && j < redU[tid]))) {
        redF[tid] = v;
        redU[tid] = j;
      }
      redLo[tid] += redLo[tid + stride];
    }
  }
  let top = workgroupUniformLoad(&redU[0]);
  if (workgroupUniformLoad(&redLo[0]) > 0u) {
    if (tid == 0u) { outIds[b] = NON_FINITE_LOGITS; }
    return;
  }
  if (p.greedy == 1u) {
    if (tid == 0u) { outIds[b] = top; }
    return;
  }
  let rowMax = logits[base + top];
  let hiKey = key(rowMax) + 1u; // keeps nothing

  var threshold = 0u; // keeps everything
  if (p.topK > 0u && p.topK < p.V) {
    threshold = search(tid, base, rowMax, 0u, hiKey, false, 0.0);
  }
  if (p.topP < 1.0) {
    let keptMass = split(tid, base, threshold, rowMax, true).mass;
    threshold = search(tid, base, rowMax, threshold, hiKey, true, p.topP * keptMass);
  }

  // The draw: invocation t owns the contiguous chunk [t * chunk, (t + 1) * chunk), so index order is
  // chunk order; the chunk masses are added in order by every invocation alike.
  let chunk = (p.V + WG - 1u) / WG;
  let first = min(tid * chunk, p.V);
  let end = min(first + chunk, p.V);
  var kept = 0.0;
  for (var i = first; i < end; i++) {
    let l = logits[base + i];
    if (key(l) >= threshold) { kept += exp((l - rowMax) * p.invTemperature); }
  }
  workgroupBarrier(); // the last reduction's results have been read
  redF[tid] = kept;
  workgroupBarrier();
  var before = 0.0;
  var total = 0.0;
  for (var j = 0u; j < WG; j++) {
    let m = redF[j];
    if (j < tid) { before += m; }
    total += m;
  }
  let u = f32(pcg(seeds[b] ^ pcg(p.step)) >> 8u) * (1.0 / 16777216.0);
  let goal = u * total;
  // The chunk holding the goal scans it; the last kept chunk also takes goals rounding lost past its end.
  var pick = NONE;
  if (kept > 0.0 && goal >= before && (goal < before + kept || before + kept >= total)) {
    var run = before;
    for (var i = first; i < end; i++) {
      let l = logits[base + i];
      if (key(l) >= threshold) {
        let w = exp((l - rowMax) * p.invTemperature);
        if (w > 0.0) {
          pick = i;
          run += w;
          if (run > goal) { break; }
        }
      }
    }
  }
  redU[tid] = pick;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (tid < stride) { redU[tid] = min(redU[tid], redU[tid + stride]); }
  }
  workgroupBarrier();
  if (tid == 0u) { outIds[b] = redU[0]; }
}
