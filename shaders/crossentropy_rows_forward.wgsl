// crossentropy_rows_forward: losses[n] = logsumexp(logits[n, :]) - logits[n, targets[n]] for a small vocabulary
// (V a multiple of 4, at most ROW_MAX_V in the wrapper): one invocation per row with vec4 loads, so a workgroup
// holds 64 rows and needs no reduction tree or barriers. 0 where the row is masked (targets[n] == -100, or any
// target outside [0, V)); see crossentropy_forward.
// Reads logits, targets; writes losses. Dispatch: grid2(ceil(N / 64)) workgroups of 64.
@group(0) @binding(0) var<storage, read_write> losses: array<f32>;  // (N)
@group(0) @binding(1) var<storage, read> logits: array<vec4<f32>>;  // (N, V/4)
@group(0) @binding(2) var<storage, read> targets: array<i32>;       // (N)
struct Params { N: u32, V: u32 }
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (n >= p.N) { return; }
  let V4 = p.V / 4u;
  let row = n * V4;
  // Two passes over the row (in cache), the max and then the sum of exp(x - max): one exp per element.
  var m4 = vec4(-3.0e38);
  for (var v = 0u; v < V4; v++) { m4 = max(m4, logits[row + v]); }
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  var s4 = vec4(0.0);
  for (var v = 0u; v < V4; v++) { s4 += exp(logits[row + v] - m); }
  let tgt = targets[n];
  var loss = 0.0;
  if (tgt >= 0 && u32(tgt) < p.V) {
    loss = m + log(s4.x + s4.y + s4.z + s4.w) - logits[row + u32(tgt) / 4u][u32(tgt) % 4u];
  }
  losses[n] = loss;
}
