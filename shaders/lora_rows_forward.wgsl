// lora_rows_forward: lora_forward for narrow projections (C a multiple of 4, C and OC at most ROW_MAX_C, R at
// most ROW_MAX_R in the wrapper): one invocation per token row, with u in registers, so a workgroup holds 64
// rows and needs no workgroup memory or barriers.
//   u = dropout(inp) @ A^T,  out += scale * u @ B^T
// dropout() and hash32() are in lora_dropout.wgsl, which the wrapper appends.
// Reads inp, A, Bw; writes u (saved for the backward pass); accumulates into out.
// Dispatch: grid2(ceil(N / 64)) workgroups of 64.
@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (N, OC)
@group(0) @binding(1) var<storage, read_write> u: array<f32>;    // (N, R)
@group(0) @binding(2) var<storage, read> inp: array<vec4<f32>>;  // (N, C/4)
@group(0) @binding(3) var<storage, read> A: array<vec4<f32>>;    // (R, C/4)
@group(0) @binding(4) var<storage, read> Bw: array<f32>;         // (OC, R)
struct Params { N: u32, C: u32, R: u32, OC: u32, scale: f32, seed: u32, threshold: u32, keepScale: f32 }
@group(0) @binding(5) var<uniform> p: Params;

const ROW_MAX_R = 16u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (n >= p.N) { return; }
  let seedHash = hash32(p.seed);
  let C4 = p.C / 4u;
  var uRow: array<f32, ROW_MAX_R>;
  var sums: array<vec4<f32>, ROW_MAX_R>;
  for (var c = 0u; c < C4; c++) {
    let x = inp[n * C4 + c];
    let i = (n * C4 + c) * 4u; // the element index of x.x, the dropout's counter
    let kept = vec4(dropout(x.x, i, seedHash), dropout(x.y, i + 1u, seedHash), dropout(x.z, i + 2u, seedHash), dropout(x.w, i + 3u, seedHash));
    for (var r = 0u; r < p.R; r++) { sums[r] = fma(kept, A[r * C4 + c], sums[r]); }
  }
  for (var r = 0u; r < p.R; r++) {
    uRow[r] = sums[r].x + sums[r].y + sums[r].z + sums[r].w;
    u[n * p.R + r] = uRow[r];
  }
  for (var o = 0u; o < p.OC; o++) {
    var acc = 0.0;
    for (var r = 0u; r < p.R; r++) { acc = fma(uRow[r], Bw[o * p.R + r], acc); }
    out[n * p.OC + o] += p.scale * acc;
  }
}
