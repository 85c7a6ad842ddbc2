// attention_backward_keyvalue: second pass of causal self-attention's backward, after
// attention_backward_query has written stats = (logsumexp, D) per query row. One workgroup per key row s of
// one key/value head owns dk[s] and dv[s], summing over every query t >= s of every query head in its group:
//   P = exp(q[t] . k[s] * scale - lse[t]),  dP = dout[t] . v[s]
//   dv[s] += sum P * dout[t],  dk[s] += scale * sum P * (dP - D[t]) * q[t]
// Reads stats, dout, q, k, v; accumulates into dk and dv. Dispatch: (T, B * NKV) workgroups of WG lanes.
@group(0) @binding(0) var<storage, read_write> dk: array<f32>; // (B, T, NKV*HS)
@group(0) @binding(1) var<storage, read_write> dv: array<f32>; // (B, T, NKV*HS)
@group(0) @binding(2) var<storage, read> stats: array<f32>;    // (B, NH, T, 2)
@group(0) @binding(3) var<storage, read> dout: array<f32>;     // (B, T, NH*HS)
@group(0) @binding(4) var<storage, read> q: array<f32>;        // (B, T, NH*HS)
@group(0) @binding(5) var<storage, read> k: array<f32>;        // (B, T, NKV*HS)
@group(0) @binding(6) var<storage, read> v: array<f32>;        // (B, T, NKV*HS)
struct Params { T: u32, NH: u32, NKV: u32, HS: u32, scale: f32 }
@group(0) @binding(7) var<uniform> p: Params;

const WG = 64u;
const HS_MAX = 256u;
const PER_THREAD = 4u; // head dimensions owned by each thread: 4 * WG must cover HS (64 lanes as written, 32 for HS <= 128)
var<workgroup> kRow: array<f32, HS_MAX>;
var<workgroup> vRow: array<f32, HS_MAX>;
var<workgroup> probs: array<f32, WG>;   // P for one slice of queries
var<workgroup> dScores: array<f32, WG>; // P * (dP - D) for the same slice

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wid.x;
  let b = wid.y / p.NKV;
  let kvh = wid.y % p.NKV;
  let groupSize = p.NH / p.NKV;
  let kvBase = (b * p.T + s) * p.NKV * p.HS + kvh * p.HS;
  let qStride = p.NH * p.HS;
  for (var d = lid; d < p.HS; d += WG) {
    kRow[d] = k[kvBase + d];
    vRow[d] = v[kvBase + d];
  }
  workgroupBarrier();

  var accK: array<f32, PER_THREAD>;
  var accV: array<f32, PER_THREAD>;
  for (var g = 0u; g < groupSize; g++) {
    let h = kvh * groupSize + g;
    let qRow0 = b * p.T * qStride + h * p.HS; // query 0 of this row and head
    let statRow0 = (b * p.NH + h) * p.T;
    for (var t0 = s; t0 < p.T; t0 += WG) {
      let t = t0 + lid;
      var pr = 0.0;
      var ds = 0.0;
      if (t < p.T) {
        let qa = qRow0 + t * qStride;
        var score = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < p.HS; d++) {
          score += q[qa + d] * kRow[d];
          dp += dout[qa + d] * vRow[d];
        }
        let st = (statRow0 + t) * 2u;
        pr = exp(score * p.scale - stats[st]);
        ds = pr * (dp - stats[st + 1u]);
      }
      probs[lid] = pr;
      dScores[lid] = ds;
      workgroupBarrier();
      let count = min(WG, p.T - t0);
      for (var j = 0u; j < count; j++) {
        let qa = qRow0 + (t0 + j) * qStride;
        let pj = probs[j];
        let dsj = dScores[j];
        for (var r = 0u; r < PER_THREAD; r++) {
          let d = lid + r * WG;
          if (d < p.HS) {
            accV[r] += pj * dout[qa + d];
            accK[r] += dsj * q[qa + d];
          }
        }
      }
      workgroupBarrier();
    }
  }
  for (var r = 0u; r < PER_THREAD; r++) {
    let d = lid + r * WG;
    if (d < p.HS) {
      dk[kvBase + d] += p.scale * accK[r];
      dv[kvBase + d] += accV[r];
    }
  }
}
