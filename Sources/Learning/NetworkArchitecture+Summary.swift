/// One layer of a network as another framework needs it to build the same network: its type and
/// sizes, the shapes in and out, the zero padding of a convolution, and its parameter blocks.
public struct LayerSummary: Sendable, Equatable {
    /// The layer; the output layer is the last `.dense(units: classes)`, and a flatten the network
    /// applies implicitly (an image into a dense layer) is listed as a `.flatten` of its own.
    public let layer: Layer
    /// [height, width, channels] for an image, [values] for a vector.
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// Convolution: zero rows above and below, zero columns left and right: [top, bottom, left,
    /// right] ("same" puts the odd one at the bottom/right); nil for other layers.
    public let padding: [Int]?
    /// Indices into `NetworkArchitecture.blocks` of the weights and the biases, [weights, biases],
    /// for layers with parameters; nil for the others.
    public let blocks: [Int]?
}

extension NetworkArchitecture {
    /// Every layer in order with its shapes, padding and blocks, the output layer last and implicit
    /// flattens made explicit: what a replay in NumPy or PyTorch builds (`rewind export --spec`).
    /// The dense shorthand gives dense, activation, ..., dense.
    public var summary: [LayerSummary] {
        var summaries: [LayerSummary] = []
        var shape: [Int] = imageShape.map { [$0.height, $0.width, $0.channels] } ?? [inputCount]
        var stageIndex = 0
        var parameterLayer = 0
        for layer in layers + [Layer.dense(units: classCount)] {
            if case .flatten = layer {
                if shape.count == 3 {
                    summaries.append(
                        LayerSummary(
                            layer: .flatten, inputShape: shape, outputShape: [shape.reduce(1, *)], padding: nil,
                            blocks: nil))
                    shape = [shape.reduce(1, *)]
                }
                continue
            }
            let stage = stages[stageIndex]
            stageIndex += 1
            if case .dense = stage.operation, shape.count == 3 {
                summaries.append(
                    LayerSummary(
                        layer: .flatten, inputShape: shape, outputShape: [stage.inputCount], padding: nil,
                        blocks: nil))
                shape = [stage.inputCount]
            }
            var output = [stage.outputCount]
            var padding: [Int]?
            switch stage.operation {
            case .conv2d(let g):
                output = [g.output.height, g.output.width, g.output.channels]
                let rows = max((g.output.height - 1) * g.stride + g.kernel - g.input.height, 0)
                let columns = max((g.output.width - 1) * g.stride + g.kernel - g.input.width, 0)
                padding = [g.padTop, rows - g.padTop, g.padLeft, columns - g.padLeft]
            case .maxpool(let g), .avgpool(let g):
                output = [g.output.height, g.output.width, g.output.channels]
            case .activation:
                output = shape
            case .dense:
                break
            }
            let blocks = stage.hasParameters ? [2 * parameterLayer, 2 * parameterLayer + 1] : nil
            if stage.hasParameters { parameterLayer += 1 }
            summaries.append(
                LayerSummary(layer: layer, inputShape: shape, outputShape: output, padding: padding, blocks: blocks))
            shape = output
        }
        return summaries
    }
}
