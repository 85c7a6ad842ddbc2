// lora_rows_backward_input: lora_backward_input for narrow projections (C a multiple of 4, C and OC at most
// ROW_MAX_C, R at most ROW_MAX_R in the wrapper): one invocation per token row with du in registers, no
// workgroup memory or barriers.
//   du = scale * dout @ B  (overwrites the du scratch),  dinp += dropout'(du @ A)
// where dropout' keeps and scales the elements that lora_forward kept (dropout() from lora_dropout.wgsl).
// Reads dout, A, Bw; writes du; accumulates into dinp. Dispatch: grid2(ceil(N / 64)) workgroups of 64.
@group(0) @binding(0) var<storage, read_write> dinp: array<vec4<f32>>; // (N, C/4)
@group(0) @binding(1) var<storage, read_write> du: array<f32>;         // (N, R)
@group(0) @binding(2) var<storage, read> dout: array<f32>;             // (N, OC)
@group(0) @binding(3) var<storage, read> A: array<vec4<f32>>;          // (R, C/4)
@group(0) @binding(4) var<storage, read> Bw: array<f32>;               // (OC, R)
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
  var duRow: array<f32, ROW_MAX_R>;
  for (var o = 0u; o < p.OC; o++) {
    let d = dout[n * p.OC + o];
    for (var r = 0u; r < p.R; r++) { duRow[r] = fma(d, Bw[o * p.R + r], duRow[r]); }
  }
  for (var r = 0u; r < p.R; r++) {
    duRow[r] *= p.scale;
    du[n * p.R + r] = duRow[r];
  }
  for (var c = 0u; c < C4; c++) {
    var acc = vec4(0.0);
    for (var r = 0u; r < p.R; r++) { acc = fma(vec4(duRow[r]), A[r * C4 + c], acc); }
    let i = (n * C4 + c) * 4u; // the element index of acc.x, the dropout's counter
    dinp[n * C4 + c] += vec4(dropout(acc.x, i, seedHash), dropout(acc.y, i + 1u, seedHash), dropout(acc.z, i + 2u, seedHash), dropout(acc.w, i + 3u, seedHash));
  }
}
