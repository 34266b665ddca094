import RewindTestSupport
import Testing

@testable import Learning

/// Max pooling right over a relu runs as one pass in the backward pass, the R-forward and the
/// R-backward (`isMaxPoolOverRelu`). Each fused pass against the two passes it stands for, bit
/// for bit, at a point the forward pass has just left (routes with ties, relu outputs at zero),
/// with upstream values that include ±0, NaN and infinities.
@Suite("Max pooling over relu in one pass")
struct MaxPoolOverReluTests {
    static let architecture = LeNetThreadsTests.architecture
    static let rows = 6

    /// A workspace after a forward pass of the LeNet-like net on images with flat patches (ties in
    /// the windows) and negative regions (relu outputs at zero).
    static func forwardState() -> (network: Network, workspace: NetworkWorkspace) {
        let network = Network(architecture: architecture)
        var random = SeededGenerator(seed: 29)
        let w = random.gaussians(architecture.parameterCount, scale: 0.3)
        var inputs = random.gaussians(rows * architecture.inputCount)
        for i in stride(from: 0, to: inputs.count, by: 7) { inputs[i] = -1 }
        for i in stride(from: 3, to: inputs.count, by: 11) { inputs[i] = inputs[i - 1] }
        let labels = (0..<rows).map { Int32($0 % architecture.classCount) }
        let workspace = NetworkWorkspace(architecture: architecture, batchCapacity: rows)
        let gradient = [Double](repeating: 0, count: architecture.parameterCount)
        let l2 = gradient
        var out = gradient
        w.withUnsafeBufferPointer { w in
            l2.withUnsafeBufferPointer { l2 in
                inputs.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        out.withUnsafeMutableBufferPointer {
                            _ = network.lossAndGradient(
                                parameters: w, l2: l2, inputs: x, labels: y, batch: rows, gradient: $0,
                                workspace: workspace)
                        }
                    }
                }
            }
        }
        return (network, workspace)
    }

    /// Random values with the awkward ones mixed in.
    static func upstream(_ count: Int, seed: UInt64) -> [Double] {
        var random = SeededGenerator(seed: seed)
        var values = random.gaussians(count)
        let awkward: [Double] = [0, -0.0, .nan, .infinity, -.infinity, -Double.leastNormalMagnitude / 4]
        for i in stride(from: 0, to: count, by: 5) { values[i] = awkward[(i / 5) % awkward.count] }
        return values
    }

    static var pools: [Int] {
        let network = Network(architecture: architecture)
        return architecture.stages.indices.filter { network.isMaxPoolOverRelu($0) }
    }

    @Test("the backward step (and the R-backward's, the same on R{δ}) gives unpoolMaximum then relu's φ'")
    func backward() throws {
        let (network, workspace) = Self.forwardState()
        #expect(Self.pools == [2, 5])
        for s in Self.pools {
            guard case .maxpool(let g) = network.stages[s].operation else { continue }
            let delta = Self.upstream(Self.rows * g.output.count, seed: UInt64(s))
            var fused = [Double](repeating: .nan, count: Self.rows * g.input.count), unfused = fused
            delta.withUnsafeBufferPointer { d in
                fused.withUnsafeMutableBufferPointer { f in
                    // Through the pass's own step, split by rows as the team runs it.
                    network.backwardMaxPoolOverRelu(
                        s, delta: d.baseAddress!,
                        buffers: Array(repeating: f.baseAddress!, count: network.stages.count),
                        inputs: nil, rows: Self.rows, workspace: workspace, team: WorkerTeam(threads: 2))
                }
                unfused.withUnsafeMutableBufferPointer { u in
                    unpoolMaximum(
                        d.baseAddress!, routes: workspace.routes[s]!, into: u.baseAddress!, rows: Self.rows,
                        geometry: g)
                    network.timesDerivative(
                        s - 1, u.baseAddress!, into: u.baseAddress!, from: 0, count: u.count, workspace: workspace)
                }
            }
            let differing = zip(fused, unfused).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "stage \(s): \(differing) of \(fused.count) values differ")
            // Not vacuous: values through, values gated to zero, and NaN at a maximum.
            #expect(fused.contains { $0 != 0 && $0.isFinite })
            #expect(fused.contains { $0.isNaN })
        }
    }

    @Test("the R-forward step gives relu's R-forward then gatherMaxima")
    func rForward() throws {
        let (network, workspace) = Self.forwardState()
        for s in Self.pools {
            guard case .maxpool(let g) = network.stages[s].operation else { continue }
            let rz = Self.upstream(Self.rows * g.input.count, seed: 100 + UInt64(s))
            var fused = [Double](repeating: .nan, count: Self.rows * g.output.count), unfused = fused
            var rRelu = [Double](repeating: .nan, count: rz.count)
            rz.withUnsafeBufferPointer { x in
                fused.withUnsafeMutableBufferPointer {
                    gatherMaxima(
                        x.baseAddress!, routes: workspace.routes[s]!, activations: workspace.outputs[s - 1],
                        into: $0.baseAddress!, rows: Self.rows, geometry: g)
                }
                rRelu.withUnsafeMutableBufferPointer { r in
                    network.timesDerivative(
                        s - 1, x.baseAddress!, into: r.baseAddress!, from: 0, count: r.count, workspace: workspace)
                    unfused.withUnsafeMutableBufferPointer {
                        gatherMaxima(
                            r.baseAddress!, routes: workspace.routes[s]!, into: $0.baseAddress!, rows: Self.rows,
                            geometry: g)
                    }
                }
            }
            let differing = zip(fused, unfused).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "stage \(s): \(differing) of \(fused.count) values differ")
            #expect(fused.contains { $0 == 0 && $0.sign == .minus })  // a negative R{z} gated off
            #expect(fused.contains { $0 != 0 && $0.isFinite })
        }
    }
}
