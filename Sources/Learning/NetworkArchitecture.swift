/// A named view of one weight tensor or bias vector inside the flat parameter vector.
public struct ParameterBlock: Sendable, Hashable {
    /// Whether the block is a layer's weights or its biases.
    public enum Kind: String, Sendable {
        case weight, bias
    }

    /// "W1", "b1", ... for the dense shorthand (`hidden`); "conv2d_1.weights", "dense_2.biases",
    /// ... for a network given as layers.
    public let name: String
    /// 0-based index of the layer with parameters the block belongs to.
    public let layer: Int
    /// Weights or biases.
    public let kind: Kind
    /// Where the block lives in the flat parameter vector.
    public let range: Range<Int>
    /// Fan-in (a conv layer's kernel × kernel × input channels) for weights, 1 for biases.
    public let rows: Int
    /// Fan-out (units or filters).
    public let cols: Int
}

/// The shape of an image, NHWC without the batch: height × width × channels, channels fastest.
public struct ImageShape: Sendable, Hashable, Codable {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Values per image.
    public var count: Int { height * width * channels }
}

/// Zero padding of a convolution.
public enum Padding: String, Sendable, Hashable, Codable, CaseIterable {
    /// Output ⌈H / stride⌉ × ⌈W / stride⌉, the padding split with the odd pixel at the bottom/right.
    case same
    /// No padding: output ⌊(H − kernel) / stride⌋ + 1.
    case valid
}

/// One layer of a network's body, as a spec names it. The output layer (dense to the classes,
/// softmax cross-entropy) is always appended.
public enum Layer: Sendable, Hashable {
    case dense(units: Int)
    case conv2d(filters: Int, kernel: Int, stride: Int, padding: Padding)
    /// Non-overlapping windows (stride = size); the first maximum in row-major window order wins.
    case maxpool(size: Int)
    case avgpool(size: Int)
    case activation(Activation)
    /// Image to vector; implicit before a dense layer.
    case flatten

    /// The spec's name of the layer type ("conv2d", "tanh", ...).
    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .conv2d: "conv2d"
        case .maxpool: "maxpool"
        case .avgpool: "avgpool"
        case .activation(let activation): activation.rawValue
        case .flatten: "flatten"
        }
    }

    /// Whether the layer has weights and biases.
    public var hasParameters: Bool {
        switch self {
        case .dense, .conv2d: true
        default: false
        }
    }
}

/// Why a list of layers does not fit the data: the 0-based index of the offending layer.
public struct ArchitectureError: Error, Sendable, Equatable {
    public let layer: Int
    public let message: String
}

/// Geometry of a convolution on one image; rows of the im2col matrix are output positions, its
/// columns (ky, kx, c) in that order, matching the weight layout (kernel, kernel, channels, filters).
struct ConvolutionGeometry: Sendable, Hashable {
    let input: ImageShape
    let output: ImageShape
    let kernel: Int
    let stride: Int
    let padTop: Int
    let padLeft: Int
    /// Output positions per image.
    var positions: Int { output.height * output.width }
    /// Values per patch: kernel² × input channels.
    var patch: Int { kernel * kernel * input.channels }
    /// The input zero-padded so that every window lies inside it: what the product kernels read
    /// the im2col matrix from (`ImageGather`).
    var paddedHeight: Int { max(padTop + input.height, (output.height - 1) * stride + kernel) }
    var paddedWidth: Int { max(padLeft + input.width, (output.width - 1) * stride + kernel) }
    /// Values per padded image.
    var paddedCount: Int { paddedHeight * paddedWidth * input.channels }
    /// Whether the padded input differs from the input (it is the input itself for "valid" windows).
    var needsPadding: Bool { paddedHeight != input.height || paddedWidth != input.width }
}

/// Geometry of a pooling layer: windows of size × size, stride = size, no padding.
struct PoolingGeometry: Sendable, Hashable {
    let input: ImageShape
    let output: ImageShape
    let size: Int
}

/// One step of the network as the passes run it (flatten is only a change of view and has none).
struct Stage: Sendable, Hashable {
    enum Operation: Sendable, Hashable {
        case dense
        case conv2d(ConvolutionGeometry)
        case maxpool(PoolingGeometry)
        case avgpool(PoolingGeometry)
        case activation(Activation)
    }

    let operation: Operation
    /// Values per row in and out.
    let inputCount: Int
    let outputCount: Int
    /// Dense: (fanIn, fanOut) of W; conv: (patch, filters). 0 for layers without parameters.
    let fanIn: Int
    let fanOut: Int
    let weightOffset: Int
    let biasOffset: Int
    /// Whether a layer with parameters comes before this one: only then does R{input} (the
    /// directional derivative of the input along the parameters) differ from zero.
    let dependsOnParameters: Bool

    var hasParameters: Bool {
        switch operation {
        case .dense, .conv2d: true
        default: false
        }
    }
}

/// The shape of a classifier: a list of layers over one flat parameter vector, the output dense
/// layer to the classes, and the layout of every parameter block.
///
/// Layout: for each layer with parameters, its weights then its biases. Dense weights are
/// (fan-in, fan-out) row-major, so z = a·W + b is a plain row-major product; conv weights are
/// (kernel, kernel, in channels, filters), so the same holds for im2col rows.
public struct NetworkArchitecture: Sendable, Hashable {
    /// The body as given (the output layer not included).
    public let layers: [Layer]
    /// The input images' shape, nil for a table.
    public let imageShape: ImageShape?
    /// Values per input row.
    public let inputCount: Int
    /// Number of classes.
    public let classCount: Int
    /// Weights and biases of every layer with parameters, in order, tiling 0..<parameterCount.
    public let blocks: [ParameterBlock]
    /// The passes' view of the layers, the output dense layer last.
    let stages: [Stage]
    /// The activation of the dense shorthand (`hidden` + `activation`); nil for a list of layers.
    public let shorthandActivation: Activation?

    /// The dense shorthand: `hidden` dense layers each followed by `activation`; no hidden layers is
    /// multinomial logistic regression. Blocks are named W1, b1, W2, ...
    public init(inputs: Int, hidden: [Int], classes: Int, activation: Activation) {
        precondition(inputs >= 1, "NetworkArchitecture: need at least one input")
        precondition(hidden.allSatisfy { $0 >= 1 }, "NetworkArchitecture: empty hidden layer")
        let layers = hidden.flatMap { [Layer.dense(units: $0), .activation(activation)] }
        do {
            try self.init(inputs: inputs, image: nil, layers: layers, classes: classes, shorthand: activation)
        } catch {
            preconditionFailure("NetworkArchitecture: \(error.message)")
        }
    }

    /// A network of `layers` on inputs of `image` shape (nil: a table of `inputs` columns). Throws
    /// naming the first layer that does not fit: an image layer on a table or after a dense layer,
    /// a kernel or window larger than its input, a non-positive size.
    public init(inputs: Int, image: ImageShape?, layers: [Layer], classes: Int) throws(ArchitectureError) {
        try self.init(inputs: inputs, image: image, layers: layers, classes: classes, shorthand: nil)
    }

    private init(
        inputs: Int, image: ImageShape?, layers: [Layer], classes: Int, shorthand: Activation?
    ) throws(ArchitectureError) {
        precondition(classes >= 2, "NetworkArchitecture: need at least two classes")
        precondition(
            image.map { $0.count == inputs } ?? true, "NetworkArchitecture: image shape does not match the inputs")
        var shape = image  // nil once flat
        var count = inputs
        var stages: [Stage] = []
        var blocks: [ParameterBlock] = []
        var offset = 0
        var typeCounts: [String: Int] = [:]
        var parameterLayers = 0

        func addParameters(_ layer: Layer, fanIn: Int, fanOut: Int) -> (weights: Int, biases: Int) {
            let type = layer.typeName
            typeCounts[type, default: 0] += 1
            let prefix = "\(type)_\(typeCounts[type]!)"
            let names =
                shorthand == nil
                ? ("\(prefix).weights", "\(prefix).biases")
                : ("W\(parameterLayers + 1)", "b\(parameterLayers + 1)")
            let weights = offset
            blocks.append(
                ParameterBlock(
                    name: names.0, layer: parameterLayers, kind: .weight, range: offset..<(offset + fanIn * fanOut),
                    rows: fanIn, cols: fanOut))
            offset += fanIn * fanOut
            blocks.append(
                ParameterBlock(
                    name: names.1, layer: parameterLayers, kind: .bias, range: offset..<(offset + fanOut), rows: 1,
                    cols: fanOut))
            offset += fanOut
            parameterLayers += 1
            return (weights, weights + fanIn * fanOut)
        }
        func imageInput(_ index: Int, _ what: String) throws(ArchitectureError) -> ImageShape {
            guard let shape else {
                throw ArchitectureError(
                    layer: index,
                    message: image == nil
                        ? "\(what) needs images, and the data set is a table without an image shape"
                        : "\(what) needs images, and it follows a dense or flatten layer")
            }
            return shape
        }

        for (index, layer) in (layers + [Layer.dense(units: classes)]).enumerated() {
            let depends = parameterLayers > 0
            switch layer {
            case .dense(let units):
                guard units >= 1 else { throw ArchitectureError(layer: index, message: "units must be at least 1") }
                let (w, b) = addParameters(layer, fanIn: count, fanOut: units)
                stages.append(
                    Stage(
                        operation: .dense, inputCount: count, outputCount: units, fanIn: count, fanOut: units,
                        weightOffset: w, biasOffset: b, dependsOnParameters: depends))
                shape = nil
                count = units
            case .conv2d(let filters, let kernel, let stride, let padding):
                let input = try imageInput(index, "conv2d")
                guard filters >= 1, kernel >= 1, stride >= 1 else {
                    throw ArchitectureError(layer: index, message: "filters, kernel and stride must be at least 1")
                }
                let height: Int, width: Int, padTop: Int, padLeft: Int
                switch padding {
                case .same:
                    height = (input.height + stride - 1) / stride
                    width = (input.width + stride - 1) / stride
                    padTop = max((height - 1) * stride + kernel - input.height, 0) / 2
                    padLeft = max((width - 1) * stride + kernel - input.width, 0) / 2
                case .valid:
                    guard kernel <= input.height, kernel <= input.width else {
                        throw ArchitectureError(
                            layer: index,
                            message:
                                "kernel \(kernel) is larger than its \(input.height)×\(input.width) input with padding \"valid\""
                        )
                    }
                    height = (input.height - kernel) / stride + 1
                    width = (input.width - kernel) / stride + 1
                    padTop = 0
                    padLeft = 0
                }
                let output = ImageShape(height: height, width: width, channels: filters)
                let geometry = ConvolutionGeometry(
                    input: input, output: output, kernel: kernel, stride: stride, padTop: padTop, padLeft: padLeft)
                let (w, b) = addParameters(layer, fanIn: geometry.patch, fanOut: filters)
                stages.append(
                    Stage(
                        operation: .conv2d(geometry), inputCount: count, outputCount: output.count,
                        fanIn: geometry.patch, fanOut: filters, weightOffset: w, biasOffset: b,
                        dependsOnParameters: depends))
                shape = output
                count = output.count
            case .maxpool(let size), .avgpool(let size):
                let input = try imageInput(index, layer.typeName)
                guard size >= 1, size <= input.height, size <= input.width else {
                    throw ArchitectureError(
                        layer: index,
                        message: "size must be between 1 and the input's \(min(input.height, input.width))")
                }
                let output = ImageShape(
                    height: input.height / size, width: input.width / size, channels: input.channels)
                let geometry = PoolingGeometry(input: input, output: output, size: size)
                let isMax = if case .maxpool = layer { true } else { false }
                stages.append(
                    Stage(
                        operation: isMax ? .maxpool(geometry) : .avgpool(geometry), inputCount: count,
                        outputCount: output.count, fanIn: 0, fanOut: 0, weightOffset: 0, biasOffset: 0,
                        dependsOnParameters: depends))
                shape = output
                count = output.count
            case .activation(let activation):
                stages.append(
                    Stage(
                        operation: .activation(activation), inputCount: count, outputCount: count, fanIn: 0, fanOut: 0,
                        weightOffset: 0, biasOffset: 0, dependsOnParameters: depends))
            case .flatten:
                shape = nil
            }
        }
        self.layers = layers
        self.imageShape = image
        self.inputCount = inputs
        self.classCount = classes
        self.blocks = blocks
        self.stages = stages
        self.shorthandActivation = shorthand
    }

    /// Length of the flat parameter vector.
    public var parameterCount: Int { blocks.last!.range.upperBound }

    /// Number of layers with parameters (the output layer included).
    public var layerCount: Int { blocks.count / 2 }

    /// [inputs, width of each layer with parameters (units or filters)..., classes]; for the dense
    /// shorthand, the classic layer sizes.
    public var layerSizes: [Int] { [inputCount] + blocks.filter { $0.kind == .bias }.map(\.cols) }

    /// The hidden activation of the dense shorthand (tanh for a list of layers, whose activations
    /// are layers of their own).
    public var activation: Activation { shorthandActivation ?? .tanh }

    /// Whether this is the dense shorthand (W1, b1, ... naming, one activation).
    public var isDenseShorthand: Bool { shorthandActivation != nil }

    /// The weight block of layer `layer` (0-based).
    public func weights(_ layer: Int) -> ParameterBlock { blocks[2 * layer] }

    /// The bias block of layer `layer` (0-based).
    public func bias(_ layer: Int) -> ParameterBlock { blocks[2 * layer + 1] }

    /// Rows per chunk when a whole data set is evaluated or differentiated: 1024, fewer for a
    /// network with convolutions when 1024 rows of a workspace that writes out its im2col matrices
    /// would pass 2^24 values (128 MiB). The chunks fix the order in which a data set's gradient
    /// is summed, so the rule stays that one whichever layout the workspace has.
    public func evaluationChunk(rows: Int) -> Int {
        let hasConvolution = stages.contains { if case .conv2d = $0.operation { true } else { false } }
        let cap = hasConvolution ? max(1, (1 << 24) / chunkRuleValuesPerRow) : 1024
        return max(1, min(rows, 1024, cap))
    }

    /// The per-row count `evaluationChunk` divides by: what the workspace held when the rule was
    /// set (im2col matrices written out, a derivative for every activation), kept as it was so
    /// that the chunks, and with them every validation gradient's bits, stay the same.
    var chunkRuleValuesPerRow: Int { workspaceRow(gathered: false, everyDerivative: true).total }

    /// Doubles of workspace per row of a batch: what `NetworkWorkspace` allocates for each row it
    /// holds on this machine (the memory estimate's per-row cost); see `workspaceValuesPerRow(gathered:)`.
    public var workspaceValuesPerRow: Int { workspaceValuesPerRow(gathered: NetworkWorkspace.gathersByDefault) }

    /// Doubles of workspace per row for a workspace that gathers its conv layers' im2col matrices
    /// from padded images (`gathered`: the padded inputs, the padded R-inputs above the first layer
    /// with parameters, and the offset tables at one word per output position), or writes them out
    /// (two matrices of positions × patch per conv layer). Either adds a conv layer's column
    /// gradient (the block `backpropagateColumns` works in) over the batch, as an upper bound, and
    /// φ' for every activation that stores one.
    public func workspaceValuesPerRow(gathered: Bool) -> Int { workspaceRow(gathered: gathered).total }

    /// A workspace's cost per row, in the parts `NetworkWorkspace` allocates separately: the
    /// doubles carved per row, the words of the row offset tables, and the largest conv layer's
    /// column-gradient row (positions × patch). `everyDerivative` counts φ' for relu too, as the
    /// workspace once stored it (the chunk rule's layout).
    func workspaceRow(
        gathered: Bool, everyDerivative: Bool = false
    )
        -> (values: Int, tableWords: Int, columnGradient: Int, total: Int)
    {
        var values = inputCount, tableWords = 0, columnGradient = 0
        for stage in stages {
            values += 4 * stage.outputCount
            switch stage.operation {
            case .activation(let activation):
                if everyDerivative || activation.storesDerivative { values += stage.outputCount }
            case .maxpool: values += stage.outputCount
            case .conv2d(let geometry):
                if gathered {
                    let copies = geometry.needsPadding ? (stage.dependsOnParameters ? 2 : 1) : 0
                    values += copies * geometry.paddedCount
                    tableWords += geometry.positions
                } else {
                    values += 2 * geometry.positions * geometry.patch
                }
                columnGradient = max(columnGradient, geometry.positions * geometry.patch)
            case .dense, .avgpool: break
            }
        }
        return (values, tableWords, columnGradient, values + tableWords + columnGradient)
    }
}

/// The dense shorthand's old name.
public typealias MLPArchitecture = NetworkArchitecture
