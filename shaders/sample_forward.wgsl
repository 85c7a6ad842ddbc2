// sample_forward: one token per row of logits, on the GPU, so decoding never reads a logits row back.
// temperature 0: argmax (lowest index on ties). Otherwise, with w_i = exp((logit_i - max) / temperature):
// keep the top-k (topK 0 = all) and the top-p nucleus (the fewest highest-w tokens whose mass reaches topP of
// the total; topP 1 = all); both are thresholds on w found by bisection, so nothing is sorted. Then draw
// u in [0, 1) from a hash of (seed, step) and pick the kept token where the kept mass, summed in index order,
// first passes u * keptMass.
// Reads logits, seeds; writes outIds (no accumulation).
@group(0) @binding(0) var<storage, read_write> outIds: array<u32>; // (B)
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // (B, V)
@group(0) @binding(2) var<storage, read> seeds: array<u32>;        // (B)
struct Params { B: u32, V: u32, step: u32, temperature: f32, topK: u32, topP: f32 }
@group(0) @binding(3) var<uniform> p: Params;

const WG = 256u;
const BISECTIONS = 40u;
var<workgroup> redF: array<f32, WG>;
var<workgroup> redU: array<u32, WG>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Workgroup sum / max / count helpers: every invocation passes its part and gets the total.
fn sumF(tid: u32, v: f32) -> f32 {
  redF[tid] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (tid < s) { redF[tid] += redF[tid + s]; }
  }
  let total = workgroupUniformLoad(&redF[0]);
  return total;
}
fn maxF(tid: u32, v: f32) -> f32 {
  redF[tid] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (tid < s) { redF[tid] = max(redF[tid], redF[tid + s]); }
  }
  return workgroupUniformLoad(&redF[0]);
}
fn sumU(tid: u32, v: u32) -> u32 {
  redU[tid] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (tid < s) { redU[tid] += redU[tid + s]; }
  }
  return workgroupUniformLoad(&redU[0]);
}

// Dispatch: grid2(B) workgroups of 256, one per row.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= p.B) { return; }
  let base = b * p.V;
  // Each invocation owns a contiguous chunk of the vocabulary, so index order is chunk order.
  let chunk = (p.V + WG - 1u) / WG;
  let lo = min(tid * chunk, p.V);
  let hi = min(lo + chunk, p.V);

  var localMax = -3.0e38;
  var localArg = 0xffffffffu;
  for (var i = lo; i < hi; i++) {
    if (logits[base + i] > localMax) { localMax = logits[base + i]; localArg = i; }
  }
  let rowMax = maxF(tid, localMax);
  if (p.temperature <= 0.0) {
    redU[tid] = select(0xffffffffu, localArg, localMax == rowMax);
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      workgroupBarrier();
      if (tid < s) { redU[tid] = min(redU[tid], redU[tid + s]); }
    }
    workgroupBarrier();
    if (tid == 0u) { outIds[b] = redU[0]; }
    return;
  }

  let invT = 1.0 / p.temperature;
  var localSum = 0.0;
  for (var i = lo; i < hi; i++) { localSum += exp((logits[base + i] - rowMax) * invT); }
  let total = sumF(tid, localSum);

  // Top-k: the largest threshold keeping at least k tokens (w of the max token is exactly 1).
  var threshold = 0.0;
  if (p.topK > 0u && p.topK < p.V) {
    var low = 0.0;
    var high = 1.0;
    for (var it = 0u; it < BISECTIONS; it++) {
      let mid = 0.5 * (low + high);
      var count = 0u;
      for (var i = lo; i < hi; i++) { count += select(0u, 1u, exp((logits[base + i] - rowMax) * invT) >= mid); }
      if (sumU(tid, count) >= p.topK) { low = mid; } else { high = mid; }
    }
    threshold = low;
  }
  // Top-p: the largest threshold whose kept mass still reaches topP of the total.
  if (p.topP < 1.0) {
    var low = threshold;
    var high = 1.0;
    for (var it = 0u; it < BISECTIONS; it++) {
      let mid = 0.5 * (low + high);
      var mass = 0.0;
      for (var i = lo; i < hi; i++) {
        let w = exp((logits[base + i] - rowMax) * invT);
        mass += select(0.0, w, w >= mid);
      }
      if (sumF(tid, mass) >= p.topP * total) { low = mid; } else { high = mid; }
    }
    threshold = low;
  }

  var kept = 0.0;
  for (var i = lo; i < hi; i++) {
    let w = exp((logits[base + i] - rowMax) * invT);
    kept += select(0.0, w, w >= threshold);
  }
  // Exclusive prefix of the chunk masses, in index order.
  redF[tid] = kept;
  workgroupBarrier();
  var before = 0.0;
  var keptMass = 0.0;
  for (var j = 0u; j < WG; j++) {
    let m = redF[j];
    if (j < tid) { before += m; }
    keptMass += m;
  }
  let u = f32(pcg(seeds[b] ^ pcg(p.step)) >> 8u) / 16777216.0;
  let goal = u * keptMass;
  // The invocation whose chunk holds the goal scans it; the last kept token is the fallback for rounding.
  redU[tid] = 0xffffffffu;
  if (kept > 0.0 && goal >= before && (goal < before + kept || before + kept >= keptMass)) {
    var run = before;
    var pick = 0xffffffffu;
    for (var i = lo; i < hi; i++) {
      let w = exp((logits[base + i] - rowMax) * invT);
      if (w >= threshold) {
        pick = i;
        run += w;
        if (run > goal) { break; }
      }
    }
    redU[tid] = pick;
  }
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (tid < s) { redU[tid] = min(redU[tid], redU[tid + s]); }
  }
  workgroupBarrier();
  if (tid == 0u) { outIds[b] = redU[0]; }
}
