// attention_backward_query: first pass of causal self-attention's backward (training: no cache, keys 0..t).
// With P = softmax(q k^T * scale) over s <= t and dP[s] = dout[t] . v[s]:
//   stats[b, h, t] = (logsumexp of the scaled scores, D = sum_s P[s] * dP[s])
//   dq[t] += scale * sum_s P[s] * (dP[s] - D) * k[s]
// Flash-style: one workgroup per (row, kv head, block of BQ queries); lane i owns query t0 + i % BQ of head
// kvh * GROUP + i / BQ, with its q, dout and dq in registers. Tiles of BK keys and values are staged in workgroup
// memory and shared by the block and every head of the group. Two sweeps over the keys: the online logsumexp and D,
// then dq from the probabilities recomputed against that logsumexp. Each lane owns its stats and dq (no atomics).
// Reads dout, q, k, v; writes stats; accumulates into dq. Dispatch: grid2(B * NKV * ceil(T / BQ)) workgroups.
@group(0) @binding(0) var<storage, read_write> dq: array<f32>;    // (B, T, NH*HS)
@group(0) @binding(1) var<storage, read_write> stats: array<f32>; // (B, NH, T, 2)
@group(0) @binding(2) var<storage, read> dout: array<f32>;        // (B, T, NH*HS)
@group(0) @binding(3) var<storage, read> q: array<f32>;           // (B, T, NH*HS)
@group(0) @binding(4) var<storage, read> k: array<f32>;           // (B, T, NKV*HS)
@group(0) @binding(5) var<storage, read> v: array<f32>;           // (B, T, NKV*HS)
struct Params { B: u32, T: u32, NH: u32, NKV: u32 }
@group(0) @binding(6) var<uniform> p: Params;

// Fixed per launch shape by the wrapper (specializedPipeline).
const HS = 8u;    // head dim
const GROUP = 2u; // query heads per kv head
const BQ = 32u;   // queries per block
const BK = 32u;   // keys per staged tile
const WG = 64u;   // lanes: BQ * GROUP
var<workgroup> kTile: array<f32, BK * HS>;
var<workgroup> vTile: array<f32, BK * HS>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let blocks = (p.T + BQ - 1u) / BQ;
  let job = wid.y * nwg.x + wid.x;
  if (job >= p.B * p.NKV * blocks) { return; }
  let block = job % blocks;
  let kvh = (job / blocks) % p.NKV;
  let b = job / (blocks * p.NKV);
  let t0 = block * BQ;
  let t = t0 + lid % BQ;
  let h = kvh * GROUP + lid / BQ;
  let live = t < p.T; // the last block may run past T
  let KV = p.NKV * HS;
  let qBase = ((b * p.T + t) * p.NH + h) * HS;
  let kvRow0 = b * p.T * KV + kvh * HS; // key 0 of this row and head
  let blockLast = min(t0 + BQ, p.T) - 1u;
  let scale = inverseSqrt(f32(HS));

  var qv: array<f32, HS>; // scaled
  var dov: array<f32, HS>;
  if (live) {
    for (var d = 0u; d < HS; d++) {
      qv[d] = q[qBase + d] * scale;
      dov[d] = dout[qBase + d];
    }
  }

  // Sweep 1: online softmax statistics, carrying sum(e * dP) along with sum(e).
  var m = -3.0e38;
  var l = 0.0;
  var ld = 0.0;
  for (var tile = 0u; tile <= blockLast; tile += BK) {
    let count = min(BK, blockLast + 1u - tile);
    workgroupBarrier(); // every lane is done with the previous tile
    for (var i = lid; i < count * HS; i += WG) {
      let at = kvRow0 + (tile + i / HS) * KV + i % HS;
      kTile[i] = k[at];
      vTile[i] = v[at];
    }
    workgroupBarrier();
    if (live && t >= tile) {
      let n = min(count, t + 1u - tile);
      for (var j = 0u; j < n; j++) {
        var score = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          score += qv[d] * kTile[j * HS + d];
          dp += dov[d] * vTile[j * HS + d];
        }
        if (score > m) {
          let c = exp(m - score);
          l *= c;
          ld *= c;
          m = score;
        }
        let e = exp(score - m);
        l += e;
        ld += e * dp;
      }
    }
  }
  let lse = m + log(l);
  let D = ld / l;
  if (live) {
    let at = ((b * p.NH + h) * p.T + t) * 2u;
    stats[at] = lse;
    stats[at + 1u] = D;
  }

  // Sweep 2: dq from P * (dP - D).
  var acc: array<f32, HS>;
  for (var tile = 0u; tile <= blockLast; tile += BK) {
    let count = min(BK, blockLast + 1u - tile);
    workgroupBarrier();
    for (var i = lid; i < count * HS; i += WG) {
      let at = kvRow0 + (tile + i / HS) * KV + i % HS;
      kTile[i] = k[at];
      vTile[i] = v[at];
    }
    workgroupBarrier();
    if (live && t >= tile) {
      let n = min(count, t + 1u - tile);
      for (var j = 0u; j < n; j++) {
        var score = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          score += qv[d] * kTile[j * HS + d];
          dp += dov[d] * vTile[j * HS + d];
        }
        let ds = exp(score - lse) * (dp - D);
        for (var d = 0u; d < HS; d++) { acc[d] += ds * kTile[j * HS + d]; }
      }
    }
  }
  if (live) {
    for (var d = 0u; d < HS; d++) { dq[qBase + d] += scale * acc[d]; }
  }
}
