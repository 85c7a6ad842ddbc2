// crossentropy_rows_backward: dlogits[n, v] = (softmax(logits[n, :])[v] - (v == targets[n])) * dlosses[n] on
// trained rows, 0 on masked rows, for a small vocabulary (V a multiple of 4, at most ROW_MAX_V in the wrapper):
// one invocation per row with vec4 loads and no barriers, as crossentropy_rows_forward; see crossentropy_backward.
// OVERWRITES dlogits: it is the first gradient of the step.
// Reads logits, targets, dlosses; writes dlogits. Dispatch: grid2(ceil(N / 64)) workgroups of 64.
@group(0) @binding(0) var<storage, read_write> dlogits: array<vec4<f32>>; // (N, V/4)
@group(0) @binding(1) var<storage, read> logits: array<vec4<f32>>;        // (N, V/4)
@group(0) @binding(2) var<storage, read> targets: array<i32>;             // (N)
@group(0) @binding(3) var<storage, read> dlosses: array<f32>;             // (N)
struct Params { N: u32, V: u32 }
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (n >= p.N) { return; }
  let V4 = p.V / 4u;
  let row = n * V4;
  let tgt = targets[n];
  if (!(tgt >= 0 && u32(tgt) < p.V)) {
    for (var v = 0u; v < V4; v++) { dlogits[row + v] = vec4(0.0); }
    return;
  }
  var m4 = vec4(-3.0e38);
  for (var v = 0u; v < V4; v++) { m4 = max(m4, logits[row + v]); }
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  var s4 = vec4(0.0);
  for (var v = 0u; v < V4; v++) { s4 += exp(logits[row + v] - m); }
  let scale = dlosses[n];
  let scaleOverSum = scale / (s4.x + s4.y + s4.z + s4.w);
  let first = vec4<i32>(0, 1, 2, 3);
  for (var v = 0u; v < V4; v++) {
    let isTarget = vec4<i32>(i32(v * 4u)) + first == vec4<i32>(tgt);
    dlogits[row + v] = exp(logits[row + v] - m) * scaleOverSum - select(vec4(0.0), vec4(scale), isTarget);
  }
}
