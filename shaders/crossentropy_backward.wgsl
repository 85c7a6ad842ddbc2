// crossentropy_backward: dlogits[n, v] = (softmax(logits[n, :])[v] - (v == targets[n])) * dlosses[n] on
// trained rows, 0 on masked rows (targets[n] == -100, or outside [0, V)). dlosses is the upstream gradient of
// each row's loss: 1 / (trained tokens) on every row for a mean loss, or seqlogp_backward's output.
// OVERWRITES dlogits, unlike the other backward passes: it is the first gradient of the step.
// Reads logits, targets, dlosses; writes dlogits. Dispatch: one workgroup of 256 per row, grid2(N).
@group(0) @binding(0) var<storage, read_write> dlogits: array<f32>; // (N, V)
@group(0) @binding(1) var<storage, read> logits: array<f32>;        // (N, V)
@group(0) @binding(2) var<storage, read> targets: array<i32>;       // (N)
@group(0) @binding(3) var<storage, read> dlosses: array<f32>;       // (N)
struct Params { N: u32, V: u32 }
@group(0) @binding(4) var<uniform> p: Params;

const WG = 256u;
var<workgroup> maxes: array<f32, WG>;
var<workgroup> sums: array<f32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = wid.y * nwg.x + wid.x;
  if (n >= p.N) { return; }
  let row = n * p.V;
  var m = -3.0e38;
  var s = 0.0;
  for (var v = lid; v < p.V; v += WG) {
    let x = logits[row + v];
    let mNew = max(m, x);
    s = s * exp(m - mNew) + exp(x - mNew);
    m = mNew;
  }
  maxes[lid] = m;
  sums[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let m1 = maxes[lid];
      let m2 = maxes[lid + stride];
      let mNew = max(m1, m2);
      sums[lid] = sums[lid] * exp(m1 - mNew) + sums[lid + stride] * exp(m2 - mNew);
      maxes[lid] = mNew;
    }
    workgroupBarrier();
  }
  let tgt = targets[n];
  let trained = tgt >= 0 && u32(tgt) < p.V;
  let maxAll = maxes[0];
  let scale = dlosses[n];
  let scaleOverSum = scale / sums[0];
  for (var v = lid; v < p.V; v += WG) {
    var d = 0.0;
    if (trained) {
      d = exp(logits[row + v] - maxAll) * scaleOverSum - select(0.0, scale, i32(v) == tgt);
    }
    dlogits[row + v] = d;
  }
}
