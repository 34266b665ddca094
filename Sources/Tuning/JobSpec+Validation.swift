import Learning

extension JobSpec {
    /// The problems that show only once the dataset is known: split sizes, the batch size against
    /// the training split, the parameter count, per-weight shapes and the total amount of work.
    /// `image` is the shape of each row as an image (nil for a table), which image layers need.
    public func validate(dataset: DatasetInfo, image: ImageShape? = nil) -> [SpecError] {
        var errors: [SpecError] = []
        func fail(_ field: String, _ message: String) { errors.append(SpecError(field: field, message: message)) }
        let resolved = resolved(for: dataset)
        let split = resolved.split, training = resolved.training

        for part in [Split.Part.train, .validation] where split[part] < 1 {
            fail(
                "/split/\(part.rawValue)",
                "gives \(split[part]) rows of the data set's \(dataset.rows); at least 1 is needed")
        }
        if split.train + split.validation + split.test > dataset.rows {
            let parts =
                split.test > 0
                ? "train + validation + test (\(split.train) + \(split.validation) + \(split.test))"
                : "train + validation (\(split.train) + \(split.validation))"
            fail("/split", "\(parts) must be at most the dataset's \(dataset.rows) rows")
        }
        for (key, values) in [("mean", preprocess.mean), ("std", preprocess.std)] {
            if let values, values.count != dataset.features {
                fail(
                    "/preprocess/\(key)", "must have \(dataset.features) values (one per feature), not \(values.count)")
            }
        }
        if split.train >= 1, training.batchSize > split.train {
            fail("/training/batch_size", "must be at most split.train (\(split.train))")
        }
        let architecture: NetworkArchitecture
        switch buildArchitecture(for: dataset, image: image) {
        case .success(let built): architecture = built
        case .failure(let error):
            fail("/model/layers/\(error.layer)", error.message)
            return errors
        }
        let weights = architecture.blocks.filter { $0.kind == .weight }.reduce(0) { $0 + $1.range.count }
        let parameters = architecture.parameterCount
        if parameters > Limits.parameters {
            fail(
                model.layers == nil ? "/model/hidden" : "/model/layers",
                "gives \(parameters) parameters with the dataset's \(dataset.features) features and \(dataset.classes) classes; at most \(Limits.parameters) are allowed"
            )
        }
        if hyperparameters.l2.per == .weight, case .values(let values) = hyperparameters.l2.initial,
            values.count != weights
        {
            fail(
                "/hyperparameters/l2/init",
                "must have \(weights) values (one per weight, biases excluded, in block order), not \(values.count)")
        }
        if training.optimizer == .adam, hyperparameters.weightDecay.per == .weight,
            case .values(let values) = hyperparameters.weightDecay.initial, values.count != weights
        {
            fail(
                "/hyperparameters/weight_decay/init",
                "must have \(weights) values (one per weight, biases excluded, in block order), not \(values.count)")
        }
        if hyperparameters.trainingData.learn, split.train * dataset.features > Limits.trainingDataValues {
            fail(
                "/hyperparameters/training_data/learn",
                "learning \(split.train) rows × \(dataset.features) features = \(split.train * dataset.features) inputs; at most \(Limits.trainingDataValues) are allowed"
            )
        }
        let work =
            Double(meta.iterations + 1) * Double(meta.seeds) * Double(training.iterations) * Double(training.batchSize)
            * Double(parameters)
        if work > Limits.totalWork {
            fail(
                "/training/iterations",
                "the job is too large: (meta.iterations + 1) × meta.seeds × iterations × batch_size × parameters = \(Self.scientific(work)), at most 1e13 is allowed; reduce one of them"
            )
        }
        return errors
    }

    /// The spec with the split's fractions and defaults turned into row counts for this data set,
    /// and every automatic setting decided: on a user's own data rows are shuffled and features
    /// standardised unless the spec says otherwise; the batch size is min(100, training rows).
    public func resolved(for dataset: DatasetInfo) -> JobSpec {
        var spec = self
        spec.split = split.resolved(rows: dataset.rows, ownData: self.dataset.isOwnData)
        if automatic.contains(.shuffle) { spec.split.shuffle = self.dataset.isOwnData }
        if automatic.contains(.standardize) { spec.preprocess.standardize = self.dataset.isOwnData }
        if automatic.contains(.batchSize) {
            spec.training.batchSize = max(1, min(Self.defaultBatchSize, spec.split.train))
        }
        spec.automatic = []
        return spec
    }

    /// The model this spec trains on a dataset of this shape (`validate(dataset:)` has accepted it).
    public func architecture(for dataset: DatasetInfo, image: ImageShape? = nil) -> NetworkArchitecture {
        switch buildArchitecture(for: dataset, image: image) {
        case .success(let architecture): architecture
        case .failure(let error): preconditionFailure("model.layers[\(error.layer)]: \(error.message)")
        }
    }

    /// The layers on this data set's shape, or the first layer that does not fit it.
    private func buildArchitecture(
        for dataset: DatasetInfo, image: ImageShape?
    ) -> Result<NetworkArchitecture, ArchitectureError> {
        guard let layers = model.layers else {
            return .success(
                NetworkArchitecture(
                    inputs: dataset.features, hidden: model.hidden, classes: dataset.classes,
                    activation: model.activation))
        }
        return Result { () throws(ArchitectureError) in
            try NetworkArchitecture(inputs: dataset.features, image: image, layers: layers, classes: dataset.classes)
        }
    }

    /// "3.2e13": enough digits to compare with the limit, without pretending to more.
    private static func scientific(_ value: Double) -> String {
        var exponent = 0
        var mantissa = value
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        return "\((mantissa * 10).rounded() / 10)e\(exponent)"
    }
}
