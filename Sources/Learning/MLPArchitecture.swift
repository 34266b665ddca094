/// A named view of one weight matrix or bias vector inside the flat parameter vector.
public struct ParameterBlock: Sendable, Hashable {
    /// Whether the block is a layer's weight matrix or its bias vector.
    public enum Kind: String, Sendable {
        case weight, bias
    }

    /// "W1", "b1", "W2", ... (1-based, as in the papers and the API).
    public let name: String
    /// 0-based index of the weight layer the block belongs to.
    public let layer: Int
    /// Weight or bias.
    public let kind: Kind
    /// Where the block lives in the flat parameter vector.
    public let range: Range<Int>
    /// Fan-in for a weight matrix, 1 for a bias.
    public let rows: Int
    /// Fan-out.
    public let cols: Int
}

/// The shape of a fully connected classifier: layer sizes, the hidden activation, and the layout
/// of its parameters in one flat vector.
///
/// Layout: for each layer l, W_l as (fan-in, fan-out) row-major, then b_l; so z = a·W + b is a
/// plain row-major product with no transposes in the forward pass.
public struct MLPArchitecture: Sendable, Hashable {
    /// [inputs, h1, ..., classes].
    public let layerSizes: [Int]
    /// The nonlinearity of every hidden layer.
    public let activation: Activation
    /// W1, b1, W2, b2, ... in order, tiling 0..<parameterCount.
    public let blocks: [ParameterBlock]

    /// An architecture with `hidden` hidden layers; no hidden layers is multinomial logistic
    /// regression.
    public init(inputs: Int, hidden: [Int], classes: Int, activation: Activation) {
        precondition(inputs >= 1, "MLPArchitecture: need at least one input")
        precondition(classes >= 2, "MLPArchitecture: need at least two classes")
        precondition(hidden.allSatisfy { $0 >= 1 }, "MLPArchitecture: empty hidden layer")
        let sizes = [inputs] + hidden + [classes]
        var blocks: [ParameterBlock] = []
        var offset = 0
        for layer in 0..<(sizes.count - 1) {
            let fanIn = sizes[layer], fanOut = sizes[layer + 1]
            blocks.append(ParameterBlock(
                name: "W\(layer + 1)", layer: layer, kind: .weight,
                range: offset..<(offset + fanIn * fanOut), rows: fanIn, cols: fanOut))
            offset += fanIn * fanOut
            blocks.append(ParameterBlock(
                name: "b\(layer + 1)", layer: layer, kind: .bias,
                range: offset..<(offset + fanOut), rows: 1, cols: fanOut))
            offset += fanOut
        }
        self.layerSizes = sizes
        self.activation = activation
        self.blocks = blocks
    }

    /// Length of the flat parameter vector.
    public var parameterCount: Int { blocks.last!.range.upperBound }

    /// Number of weight layers (hidden layers + 1).
    public var layerCount: Int { layerSizes.count - 1 }

    /// Number of input features.
    public var inputCount: Int { layerSizes[0] }

    /// Number of classes.
    public var classCount: Int { layerSizes[layerSizes.count - 1] }

    /// The weight block of layer `layer` (0-based).
    public func weights(_ layer: Int) -> ParameterBlock { blocks[2 * layer] }

    /// The bias block of layer `layer` (0-based).
    public func bias(_ layer: Int) -> ParameterBlock { blocks[2 * layer + 1] }
}
