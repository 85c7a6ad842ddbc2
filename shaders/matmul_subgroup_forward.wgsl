// matmul_subgroup_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC) for a few rows (decode), C a
// multiple of 4, on GPUs with the subgroups feature. Split-K: each subgroup owns 4 adjacent columns of one row,
// its lanes sum the 16-wide chunks of C (lane l takes chunks l, l + S, ...), and subgroup shuffles hand the
// chunk sums to every lane in chunk order, with no workgroup memory and no barrier. Neighbouring lanes read
// neighbouring parts of each weight row. The reduction order is matmul_direct_forward's (each chunk summed from 0
// by fma in k order, the chunk sums added in chunk order, then the bias), so rows have the same bits whichever
// kernel ran. A workgroup covers QUADS column quads of one row; its subgroups (of whatever size the GPU runs) take
// them in turn. Subgroups are taken to be runs of consecutive local invocation indices, as GPUs lay out a 1-D
// workgroup; a device where that fails misses its known-answer check, and the kernel is not used there.
// f32 accumulation; WT is the weight type (the wrapper makes the f16 variant).
// Reads inp, weight, bias (when hasBias); writes out, or adds to it when accumulate (a residual stream).
// The bindings (and weightsAt, fmaRow) are matmul_forward_io.wgsl's, appended by the wrapper.
enable subgroups;
// The shuffles run where every lane of the subgroup is active (the quad loop is uniform across a subgroup).
diagnostic(off, subgroup_uniformity);

const QUADS = 8u; // column quads per workgroup
const WG = 32u;

// Dispatch: (ceil(OC / (4 * QUADS)), N) workgroups of WG.
@compute @workgroup_size(32)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) S: u32,
) {
  let row = wid.y;
  let C4 = p.C / 4u;
  let chunks = (C4 + 3u) / 4u;
  // A subgroup wider than the workgroup (64 lanes on some GPUs) holds only the workgroup's WG invocations.
  let lanes = min(S, WG);
  let subgroups = (WG + lanes - 1u) / lanes;
  for (var quad = lid / lanes; quad < QUADS; quad += subgroups) {
    let col0 = (wid.x * QUADS + quad) * 4u;
    if (col0 >= p.OC) { break; }
    // Columns past OC read column 0 (always present) and are not written.
    let colIds = col0 + vec4(0u, 1u, 2u, 3u);
    let cols = select(vec4(0u), colIds, colIds < vec4(p.OC)) * C4;
    var total = vec4(0.0);
    for (var first = 0u; first < chunks; first += lanes) {
      // This lane's chunk, summed from 0; lanes past the last chunk hold 0, which adds nothing.
      var s = vec4(0.0);
      let k4 = (first + lane) * 4u;
      if (k4 < C4) {
        for (var g = 0u; g < min(C4 - k4, 4u); g++) {
          s = fmaRow(s, inp[row * C4 + k4 + g], weightsAt(k4 + g, cols));
        }
      }
      for (var j = 0u; j < lanes; j++) { total += subgroupShuffle(s, j); }
    }
    if (lane == 0u) {
      for (var j = 0u; j < 4u; j++) {
        let o = col0 + j;
        if (o < p.OC) {
          var v = total[j];
          if (p.hasBias == 1u) { v += bias[o]; }
          if (p.accumulate == 1u) { v += out[row * p.OC + o]; }
          out[row * p.OC + o] = v;
        }
      }
    }
  }
}
