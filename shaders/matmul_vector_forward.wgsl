// matmul_vector_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC) for few rows (N <= 8: decode
// steps) with C a multiple of 4, reading each weight row once for all rows. Each invocation sums one 16-wide
// chunk of C for every row; the chunk sums of an output are then added in chunk order. That is exactly the
// reduction order of matmul_forward (chunks of 16 summed from 0 by fma in k order, chunk sums added in order,
// then the bias), so an output row has the same bits whatever N and whichever kernel ran.
// f32 accumulation; WT is the weight type (the wrapper makes the f16 variant).
// Reads inp, weight, bias (when hasBias); writes out, or adds to it when accumulate (a residual stream).
// The bindings (and weightsAt, fmaRow) are matmul_forward_io.wgsl's, appended by the wrapper.

const ROWS = 8u;  // most rows per call
const OUTS = 8u;  // output columns per workgroup
const LANES = 32u; // chunks summed at once per column: a column's 32 lanes read 2 KB of its weight row
const PART = 33u; // padded lane count of the partial sums: the in-order adds then hit distinct banks
var<workgroup> part: array<f32, 2112>; // [row][column][lane], ROWS x OUTS x PART

// Dispatch: grid2(ceil(OC / 8)) workgroups of 256 = 8 output columns x 32 lanes.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let o0 = (wid.y * nwg.x + wid.x) * OUTS;
  let lane = tid % LANES;
  let column = tid / LANES;
  let o = o0 + column;
  let C4 = p.C / 4u;
  let chunks = (p.C + 15u) / 16u;
  // After each round, invocation (row cn, column co) adds that round's chunk sums to its total, in order.
  let cn = tid / OUTS;
  let co = tid % OUTS;
  var total = 0.0;
  for (var c0 = 0u; c0 < chunks; c0 += LANES) {
    let chunk = c0 + lane;
    // This chunk's sums, from 0 (explicitly: SwiftShader keeps a loop-scoped var's value across iterations).
    var s = array<f32, ROWS>();
    if (o < p.OC && chunk < chunks) {
      for (var g = 0u; g < 4u; g++) {
        let k4 = chunk * 4u + g;
        var w = vec4(0.0);
        if (k4 < C4) { w = vec4<f32>(weight[o * C4 + k4]); }
        for (var n = 0u; n < ROWS; n++) {
          if (n < p.N) {
            var a = vec4(0.0);
            if (k4 < C4) { a = inp[n * C4 + k4]; }
            s[n] = fma(a.x, w.x, s[n]);
            s[n] = fma(a.y, w.y, s[n]);
            s[n] = fma(a.z, w.z, s[n]);
            s[n] = fma(a.w, w.w, s[n]);
          }
        }
      }
    }
    for (var n = 0u; n < ROWS; n++) {
      if (n < p.N) { part[(n * OUTS + column) * PART + lane] = s[n]; }
    }
    workgroupBarrier();
    if (cn < p.N) {
      let count = min(LANES, chunks - c0);
      for (var l = 0u; l < count; l++) { total += part[(cn * OUTS + co) * PART + l]; }
    }
    workgroupBarrier(); // part is rewritten next round
  }
  let oc = o0 + co;
  if (cn < p.N && oc < p.OC) {
    var v = total;
    if (p.hasBias == 1u) { v += bias[oc]; }
    if (p.accumulate == 1u) { v += out[cn * p.OC + oc]; }
    out[cn * p.OC + oc] = v;
  }
}
