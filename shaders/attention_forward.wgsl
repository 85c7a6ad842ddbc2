// attention_forward: causal attention over a KV cache with grouped-query heads, online softmax in f32.
// Query t of row b sits in cache slot start+t and attends slots s in [validFrom[b], start+t]; query head h
// reads kv head h / (NH / NKV). scale = 1/sqrt(HS).
// Reads q, kCache, vCache, validFrom; writes out (no accumulation).
@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (B, T, NH * HS)
@group(0) @binding(1) var<storage, read> q: array<f32>;          // (B, T, NH * HS)
@group(0) @binding(2) var<storage, read> kCache: array<f32>;     // (B, S, NKV * HS)
@group(0) @binding(3) var<storage, read> vCache: array<f32>;     // (B, S, NKV * HS)
@group(0) @binding(4) var<storage, read> validFrom: array<u32>;  // (B)
struct Params { B: u32, T: u32, NH: u32, NKV: u32, HS: u32, S: u32, start: u32 }
@group(0) @binding(5) var<uniform> p: Params;

const WG = 64u;      // slots scored per tile, one per invocation
const MAX_HS = 256u; // head dims owned per invocation: HS / WG, at most 4 (the wrapper takes 32 lanes only for HS <= 128)
var<workgroup> qs: array<f32, MAX_HS>;
var<workgroup> scores: array<f32, WG>; // a tile's scores, then their weights

// Dispatch: grid2(B * T * NH) workgroups of WG lanes (64 as written), one per (row, query, head).
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let job = wid.y * nwg.x + wid.x;
  if (job >= p.B * p.T * p.NH) { return; }
  let h = job % p.NH;
  let bt = job / p.NH; // b * T + t
  let b = bt / p.T;
  let t = bt - b * p.T;
  let kvh = h / (p.NH / p.NKV);
  let KV = p.NKV * p.HS;
  let qBase = (bt * p.NH + h) * p.HS;
  for (var d = tid; d < p.HS; d += WG) { qs[d] = q[qBase + d]; }
  workgroupBarrier();

  let scale = inverseSqrt(f32(p.HS));
  let first = validFrom[b];
  let last = p.start + t; // inclusive
  var m = -3.0e38;        // running max
  var l = 0.0;            // running sum of exp(score - m)
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0); // dims tid, tid + WG, ...
  for (var tile = first; tile <= last; tile += WG) {
    let s = tile + tid;
    var score = -3.0e38;
    if (s <= last) {
      let kBase = (b * p.S + s) * KV + kvh * p.HS;
      var dot = 0.0;
      for (var d = 0u; d < p.HS; d++) { dot += qs[d] * kCache[kBase + d]; }
      score = dot * scale;
    }
    scores[tid] = score;
    workgroupBarrier();
    var tileMax = -3.0e38;
    for (var j = 0u; j < WG; j++) { tileMax = max(tileMax, scores[j]); }
    let mNew = max(m, tileMax);
    let correction = exp(m - mNew);
    workgroupBarrier(); // every invocation has read the raw scores
    // Each slot's weight exp(score - mNew) is computed once, by its invocation, and shared.
    scores[tid] = select(0.0, exp(score - mNew), s <= last);
    workgroupBarrier();
    let count = min(WG, last + 1u - tile);
    var tileSum = 0.0;
    for (var j = 0u; j < count; j++) { tileSum += scores[j]; }
    l = l * correction + tileSum;
    for (var k = 0u; k < 4u; k++) {
      let d = tid + k * WG;
      if (d < p.HS) {
        var sum = 0.0;
        for (var j = 0u; j < count; j++) {
          sum += scores[j] * vCache[(b * p.S + tile + j) * KV + kvh * p.HS + d];
        }
        acc[k] = acc[k] * correction + sum;
      }
    }
    m = mNew;
    workgroupBarrier(); // scores[] is rewritten by the next tile
  }
  for (var k = 0u; k < 4u; k++) {
    let d = tid + k * WG;
    if (d < p.HS) { out[qBase + d] = select(0.0, acc[k] / l, l > 0.0); }
  }
}
