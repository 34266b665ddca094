extension JobSpec {
    /// The bounds a spec must respect; each error message states the one it broke.
    public enum Limits {
        public static let nameLength = 200
        public static let hiddenLayers = 8
        public static let layerWidth = 1...4096
        /// Entries of `model.layers`, and the sizes a layer may have.
        public static let layers = 32
        public static let filters = 1...1024
        public static let kernel = 1...32
        public static let stride = 1...32
        public static let poolSize = 1...32
        public static let parameters = 2_000_000
        public static let splitRows = 1...1_000_000
        public static let iterations = 1...100_000
        public static let batchSize = 1...100_000
        public static let seed = 0...(1 << 53)
        public static let metaIterations = 0...10_000
        /// Values in one schedule group, (segments × blocks).
        public static let scheduleValues = 1_000_000
        /// Learned training inputs, (train rows × features).
        public static let trainingDataValues = 1_000_000
        /// (meta.iterations + 1) × iterations × batch_size × parameters: about a day on one core.
        public static let totalWork = 1e13
        /// Built-in dataset names and uploaded ids.
        public static let datasetKey = 200
        /// A local CSV path (`rewind run` only).
        public static let pathLength = 4096
        /// Training runs averaged per meta-iteration.
        public static let seeds = 1...64
        /// Items without improvement before an early stop.
        public static let patience = 1...10_000

        static let learningRate = Bounds(lower: 0, lowerInclusive: false, upper: 1000, upperInclusive: true)
        static let momentum = Bounds(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false)
        static let l2 = Bounds(
            lower: 0, lowerInclusive: false, upper: 1e6, upperInclusive: true,
            hint: "it is e^u, so 0 is not allowed: use 1e-12 to switch L2 off")
        static let epsilon = Bounds(
            lower: 0, lowerInclusive: false, upper: 1, upperInclusive: true, hint: "it is e^u, so 0 is not allowed")
        static let weightDecay = Bounds(
            lower: 0, lowerInclusive: false, upper: 1e3, upperInclusive: true,
            hint: "only the single number 0 switches weight decay off")
        static let weightDecayOff = Bounds(lower: 0, lowerInclusive: true, upper: 1e3, upperInclusive: true)
        static let initScale = Bounds(lower: 0, lowerInclusive: false, upper: 100, upperInclusive: true)
        static let stepSize = Bounds(lower: 0, lowerInclusive: false, upper: 100, upperInclusive: true)
        static let guardTolerance = Bounds(lower: 0, lowerInclusive: true, upper: 100, upperInclusive: true)
        static let gradientJump = Bounds(lower: 1, lowerInclusive: false, upper: 1e30, upperInclusive: true)
        static let guardShrink = Bounds(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false)
        // Any finite number: statistics computed from a data set's finite values are finite and
        // come back in the spec the service stores and re-reads.
        static let featureMean = Bounds(
            lower: -.greatestFiniteMagnitude, lowerInclusive: true, upper: .greatestFiniteMagnitude,
            upperInclusive: true)
        static let featureScale = Bounds(
            lower: 0, lowerInclusive: false, upper: .greatestFiniteMagnitude, upperInclusive: true)
    }
}
