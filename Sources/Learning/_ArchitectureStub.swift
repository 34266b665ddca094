// TEMPORARY stub of the MLPArchitecture API (owned by another engineer) so that the spec branch
// builds on its own. Deleted in this branch's final commit.

public enum Activation: String, Sendable, Codable {
    case tanh, relu, sigmoid
}

public struct ParameterBlock: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case weight, bias }
    public var name: String
    public var layer: Int
    public var kind: Kind
    public var range: Range<Int>
    public var rows: Int
    public var cols: Int
}

public struct MLPArchitecture: Sendable, Equatable {
    public var inputs: Int
    public var hidden: [Int]
    public var classes: Int
    public var activation: Activation
    public var blocks: [ParameterBlock]

    public init(inputs: Int, hidden: [Int], classes: Int, activation: Activation) {
        self.inputs = inputs
        self.hidden = hidden
        self.classes = classes
        self.activation = activation
        let sizes = [inputs] + hidden + [classes]
        var blocks: [ParameterBlock] = []
        var offset = 0
        for layer in 0..<(sizes.count - 1) {
            let (fanIn, fanOut) = (sizes[layer], sizes[layer + 1])
            blocks.append(ParameterBlock(name: "W\(layer + 1)", layer: layer, kind: .weight,
                                         range: offset..<(offset + fanIn * fanOut), rows: fanIn, cols: fanOut))
            offset += fanIn * fanOut
            blocks.append(ParameterBlock(name: "b\(layer + 1)", layer: layer, kind: .bias,
                                         range: offset..<(offset + fanOut), rows: 1, cols: fanOut))
            offset += fanOut
        }
        self.blocks = blocks
    }

    public var parameterCount: Int { blocks.last?.range.upperBound ?? 0 }
    public var layerCount: Int { hidden.count + 1 }
}
