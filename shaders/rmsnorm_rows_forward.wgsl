// rmsnorm_rows_forward: out (N, C) = inp / sqrt(mean(inp^2) + eps) * weight for rows of C a multiple of 4 (up to
// NORM_ROW_MAX_C in the wrapper): one invocation per row, vec4 loads, so a workgroup holds 64 rows and needs no
// reduction tree or barriers (a narrow row would leave most lanes of a row-per-workgroup kernel idle).
// Reads inp, weight; writes out (no accumulation). Dispatch: grid2(ceil(N / 64)) workgroups of 64.
@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>; // (N, C/4)
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;       // (N, C/4)
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;    // (C/4)
struct Params { N: u32, C: u32, eps: f32 }
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (row >= p.N) { return; }
  let C4 = p.C / 4u;
  let base = row * C4;
  var squares = vec4(0.0);
  for (var c = 0u; c < C4; c++) {
    let x = inp[base + c];
    squares = fma(x, x, squares);
  }
  let rstd = inverseSqrt((squares.x + squares.y + squares.z + squares.w) / f32(p.C) + p.eps);
  for (var c = 0u; c < C4; c++) {
    out[base + c] = inp[base + c] * rstd * weight[c];
  }
}
