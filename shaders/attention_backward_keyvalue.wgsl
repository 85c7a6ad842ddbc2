// attention_backward_keyvalue: second pass of causal self-attention's backward, after attention_backward_query
// has written stats = (logsumexp, D) per query row. Key s of one key/value head gathers over every query t >= s
// of every query head in its group:
//   P = exp(q[t] . k[s] * scale - lse[t]),  dP = dout[t] . v[s]
//   dv[s] += sum P * dout[t],  dk[s] += scale * sum P * (dP - D[t]) * q[t]
// Flash-style: one workgroup per (row, kv head, block of WG keys); lane i owns key s0 + i, with its k, v, dk and dv
// in registers. Tiles of TQ query positions (q, dout and stats of all GROUP heads) are staged in workgroup memory
// and shared by the block. Each lane owns its dk and dv rows (no atomics).
// Reads stats, dout, q, k, v; accumulates into dk and dv. Dispatch: grid2(B * NKV * ceil(T / WG)) workgroups.
@group(0) @binding(0) var<storage, read_write> dk: array<f32>; // (B, T, NKV*HS)
@group(0) @binding(1) var<storage, read_write> dv: array<f32>; // (B, T, NKV*HS)
@group(0) @binding(2) var<storage, read> stats: array<f32>;    // (B, NH, T, 2)
@group(0) @binding(3) var<storage, read> dout: array<f32>;     // (B, T, NH*HS)
@group(0) @binding(4) var<storage, read> q: array<f32>;        // (B, T, NH*HS)
@group(0) @binding(5) var<storage, read> k: array<f32>;        // (B, T, NKV*HS)
@group(0) @binding(6) var<storage, read> v: array<f32>;        // (B, T, NKV*HS)
struct Params { B: u32, T: u32, NH: u32, NKV: u32 }
@group(0) @binding(7) var<uniform> p: Params;

// Fixed per launch shape by the wrapper (specializedPipeline).
const HS = 8u;    // head dim
const GROUP = 2u; // query heads per kv head
const TQ = 32u;   // query positions per staged tile
const WG = 64u;   // lanes: keys per block
var<workgroup> qTile: array<f32, TQ * GROUP * HS>;    // [g][i][d], q pre-scaled
var<workgroup> doutTile: array<f32, TQ * GROUP * HS>; // [g][i][d]
var<workgroup> lseTile: array<f32, TQ * GROUP>;       // [g][i]
var<workgroup> dTile: array<f32, TQ * GROUP>;         // [g][i]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let blocks = (p.T + WG - 1u) / WG;
  let job = wid.y * nwg.x + wid.x;
  if (job >= p.B * p.NKV * blocks) { return; }
  let block = job % blocks;
  let kvh = (job / blocks) % p.NKV;
  let b = job / (blocks * p.NKV);
  let s0 = block * WG;
  let s = s0 + lid;
  let live = s < p.T; // the last block may run past T
  let KV = p.NKV * HS;
  let kvBase = (b * p.T + s) * KV + kvh * HS;
  let scale = inverseSqrt(f32(HS));

  var kv: array<f32, HS>;
  var vv: array<f32, HS>;
  if (live) {
    for (var d = 0u; d < HS; d++) {
      kv[d] = k[kvBase + d];
      vv[d] = v[kvBase + d];
    }
  }
  var accK: array<f32, HS>;
  var accV: array<f32, HS>;
  // Queries before the block's first key see none of its keys.
  for (var tile = s0; tile < p.T; tile += TQ) {
    let count = min(TQ, p.T - tile);
    workgroupBarrier(); // every lane is done with the previous tile
    for (var i = lid; i < GROUP * count * HS; i += WG) {
      let d = i % HS;
      let row = i / HS; // g * count + r
      let g = row / count;
      let r = row % count;
      let qa = ((b * p.T + tile + r) * p.NH + kvh * GROUP + g) * HS + d;
      qTile[(g * TQ + r) * HS + d] = q[qa] * scale;
      doutTile[(g * TQ + r) * HS + d] = dout[qa];
    }
    for (var i = lid; i < GROUP * count; i += WG) {
      let g = i / count;
      let r = i % count;
      let st = ((b * p.NH + kvh * GROUP + g) * p.T + tile + r) * 2u;
      lseTile[g * TQ + r] = stats[st];
      dTile[g * TQ + r] = stats[st + 1u];
    }
    workgroupBarrier();
    if (live && s < tile + count) {
      let firstQuery = select(0u, s - tile, s > tile); // causal: queries t >= s
      for (var g = 0u; g < GROUP; g++) {
        for (var r = firstQuery; r < count; r++) {
          let row = g * TQ + r;
          var score = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < HS; d++) {
            score += qTile[row * HS + d] * kv[d];
            dp += doutTile[row * HS + d] * vv[d];
          }
          let pr = exp(score - lseTile[row]);
          let ds = pr * (dp - dTile[row]);
          for (var d = 0u; d < HS; d++) {
            accV[d] += pr * doutTile[row * HS + d];
            accK[d] += ds * qTile[row * HS + d];
          }
        }
      }
    }
  }
  if (live) {
    for (var d = 0u; d < HS; d++) {
      dk[kvBase + d] += accK[d];
      dv[kvBase + d] += accV[d];
    }
  }
}
