// attention_forward: flash-style causal attention over a KV cache with grouped-query heads, online softmax in f32.
// Query t of row b sits in cache slot start+t and attends slots s in [validFrom[b], start+t]; query head h
// reads kv head h / GROUP. scale = 1/sqrt(HS).
// One workgroup per (row, kv head, block of BQ queries). Lane i owns query t0 + i % BQ of head kvh * GROUP + i / BQ:
// its scaled query vector, running max, sum and accumulator stay in registers. Tiles of BK keys and values are
// staged once in workgroup memory and read by every lane, so the block and all GROUP heads share each load.
// Reads q, kCache, vCache, validFrom; writes out (no accumulation).
@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (B, T, NH * HS)
@group(0) @binding(1) var<storage, read> q: array<f32>;          // (B, T, NH * HS)
@group(0) @binding(2) var<storage, read> kCache: array<f32>;     // (B, S, NKV * HS)
@group(0) @binding(3) var<storage, read> vCache: array<f32>;     // (B, S, NKV * HS)
@group(0) @binding(4) var<storage, read> validFrom: array<u32>;  // (B)
struct Params { B: u32, T: u32, NH: u32, NKV: u32, S: u32, start: u32 }
@group(0) @binding(5) var<uniform> p: Params;

// Fixed per launch shape by the wrapper (specializedPipeline).
const HS = 8u;    // head dim
const GROUP = 2u; // query heads per kv head
const BQ = 32u;   // queries per block
const BK = 32u;   // keys per staged tile
const WG = 64u;   // lanes: BQ * GROUP
var<workgroup> kTile: array<f32, BK * HS>;
var<workgroup> vTile: array<f32, BK * HS>;

// Dispatch: grid2(B * NKV * ceil(T / BQ)) workgroups of WG lanes.
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

  var qv: array<f32, HS>;
  var acc: array<f32, HS>;
  let scale = inverseSqrt(f32(HS));
  if (live) {
    for (var d = 0u; d < HS; d++) { qv[d] = q[qBase + d] * scale; }
  }
  let first = validFrom[b];
  let last = p.start + t; // this lane's last slot, inclusive
  let blockLast = p.start + min(t0 + BQ, p.T) - 1u;
  var m = -3.0e38; // running max
  var l = 0.0;     // running sum of exp(score - m)
  for (var tile = first; tile <= blockLast; tile += BK) {
    let count = min(BK, blockLast + 1u - tile);
    workgroupBarrier(); // every lane is done with the previous tile
    for (var i = lid; i < count * HS; i += WG) {
      let at = (b * p.S + tile) * KV + (i / HS) * KV + kvh * HS + i % HS;
      kTile[i] = kCache[at];
      vTile[i] = vCache[at];
    }
    workgroupBarrier();
    if (live && last >= tile) {
      let n = min(count, last + 1u - tile);
      for (var j = 0u; j < n; j++) {
        var score = 0.0;
        for (var d = 0u; d < HS; d++) { score += qv[d] * kTile[j * HS + d]; }
        if (score > m) { // a new max rescales what came before
          let c = exp(m - score);
          l *= c;
          for (var d = 0u; d < HS; d++) { acc[d] *= c; }
          m = score;
        }
        let e = exp(score - m);
        l += e;
        for (var d = 0u; d < HS; d++) { acc[d] += e * vTile[j * HS + d]; }
      }
    }
  }
  if (live) {
    for (var d = 0u; d < HS; d++) { out[qBase + d] = select(0.0, acc[d] / l, l > 0.0); }
  }
}
