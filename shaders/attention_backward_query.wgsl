// attention_backward_query: first pass of causal self-attention's backward (training: no cache, keys 0..t).
// With P = softmax(q k^T * scale) over s <= t and dP[s] = dout[t] . v[s], one workgroup per query row:
//   stats[b, h, t] = (logsumexp of the scaled scores, D = sum_s P[s] * dP[s])
//   dq[t] += scale * sum_s P[s] * (dP[s] - D) * k[s]
// Query head h reads key/value head h / (NH / NKV) (grouped-query attention).
// Reads dout, q, k, v; writes stats; accumulates into dq. Dispatch: (T, B * NH) workgroups of WG lanes.
@group(0) @binding(0) var<storage, read_write> dq: array<f32>;    // (B, T, NH*HS)
@group(0) @binding(1) var<storage, read_write> stats: array<f32>; // (B, NH, T, 2)
@group(0) @binding(2) var<storage, read> dout: array<f32>;        // (B, T, NH*HS)
@group(0) @binding(3) var<storage, read> q: array<f32>;           // (B, T, NH*HS)
@group(0) @binding(4) var<storage, read> k: array<f32>;           // (B, T, NKV*HS)
@group(0) @binding(5) var<storage, read> v: array<f32>;           // (B, T, NKV*HS)
struct Params { T: u32, NH: u32, NKV: u32, HS: u32, scale: f32 }
@group(0) @binding(6) var<uniform> p: Params;

const WG = 64u;
const HS_MAX = 256u;
const PER_THREAD = 4u; // head dimensions owned by each thread: 4 * WG must cover HS (64 lanes as written, 32 for HS <= 128)
var<workgroup> qRow: array<f32, HS_MAX>;
var<workgroup> doutRow: array<f32, HS_MAX>;
var<workgroup> maxes: array<f32, WG>;
var<workgroup> sums: array<f32, WG>;
var<workgroup> dots: array<f32, WG>;
var<workgroup> dScores: array<f32, WG>; // P * (dP - D) for one slice of keys

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let b = wid.y / p.NH;
  let h = wid.y % p.NH;
  let kvh = h / (p.NH / p.NKV);
  let qBase = (b * p.T + t) * p.NH * p.HS + h * p.HS;
  let kvRow0 = b * p.T * p.NKV * p.HS + kvh * p.HS; // key 0 of this row and head
  let kvStride = p.NKV * p.HS;
  for (var d = lid; d < p.HS; d += WG) {
    qRow[d] = q[qBase + d];
    doutRow[d] = dout[qBase + d];
  }
  workgroupBarrier();

  // Online softmax over this thread's keys, carrying sum(e * dP) along with sum(e).
  var m = -3.0e38;
  var l = 0.0;
  var ld = 0.0;
  for (var s = lid; s <= t; s += WG) {
    let kv = kvRow0 + s * kvStride;
    var score = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < p.HS; d++) {
      score += qRow[d] * k[kv + d];
      dp += doutRow[d] * v[kv + d];
    }
    score *= p.scale;
    let mNew = max(m, score);
    let r = exp(m - mNew);
    let e = exp(score - mNew);
    l = l * r + e;
    ld = ld * r + e * dp;
    m = mNew;
  }
  maxes[lid] = m;
  sums[lid] = l;
  dots[lid] = ld;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      let m1 = maxes[lid];
      let m2 = maxes[lid + stride];
      let mNew = max(m1, m2);
      let r1 = exp(m1 - mNew);
      let r2 = exp(m2 - mNew);
      sums[lid] = sums[lid] * r1 + sums[lid + stride] * r2;
      dots[lid] = dots[lid] * r1 + dots[lid + stride] * r2;
      maxes[lid] = mNew;
    }
  }
  workgroupBarrier();
  let lse = maxes[0] + log(sums[0]);
  let D = dots[0] / sums[0];
  if (lid == 0u) {
    let at = ((b * p.NH + h) * p.T + t) * 2u;
    stats[at] = lse;
    stats[at + 1u] = D;
  }

  // dq: each slice of WG keys first gets its P * (dP - D), then every thread sums its own dimensions.
  var acc: array<f32, PER_THREAD>;
  for (var s0 = 0u; s0 <= t; s0 += WG) {
    let s = s0 + lid;
    var ds = 0.0;
    if (s <= t) {
      let kv = kvRow0 + s * kvStride;
      var score = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.HS; d++) {
        score += qRow[d] * k[kv + d];
        dp += doutRow[d] * v[kv + d];
      }
      ds = exp(score * p.scale - lse) * (dp - D);
    }
    dScores[lid] = ds;
    workgroupBarrier();
    let count = min(WG, t + 1u - s0);
    for (var j = 0u; j < count; j++) {
      let kv = kvRow0 + (s0 + j) * kvStride;
      let w = dScores[j];
      for (var r = 0u; r < PER_THREAD; r++) {
        let d = lid + r * WG;
        if (d < p.HS) { acc[r] += w * k[kv + d]; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < PER_THREAD; r++) {
    let d = lid + r * WG;
    if (d < p.HS) { dq[qBase + d] += p.scale * acc[r]; }
  }
}
