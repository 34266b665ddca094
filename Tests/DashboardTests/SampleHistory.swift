import Foundation
import JSON

/// Deterministic, plausible history items and specs for plot tests.
enum SampleHistory {
    static func spec(hidden: [Int], iterations: Int, l2Per: String = "block", learnsData: Bool = false) -> JSONValue {
        [
            "name": "sample",
            "dataset": ["name": "digits"],
            "model": .array(hidden.map { .number(Double($0)) }).asHidden,
            "training": ["iterations": .number(Double(iterations))],
            "hyperparameters": [
                "l2": ["per": .string(l2Per)],
                "init_scale": ["per": "block"],
                "training_data": ["learn": .bool(learnsData)],
            ],
        ]
    }

    /// `count` items; schedules have `segments` rows over all blocks; the last item has no hypergradient.
    static func items(
        count: Int, hidden: [Int], iterations: Int, segments: Int, l2Weights: Int? = nil, trainingRows: Int? = nil
    ) -> [JSONValue] {
        let blocks = 2 * (hidden.count + 1)
        return (0..<count).map { m in
            let progress = Double(m) / Double(max(1, count - 1))
            let rate: [[Double]] = (0..<segments).map { s in
                (0..<blocks).map { b in
                    let t = Double(s) / Double(max(1, segments - 1))
                    return 0.5 * exp(progress * (1.5 * sin(3 * t + Double(b)) - 0.3 * Double(b)))
                }
            }
            let momentum: [[Double]] = (0..<segments).map { s in
                (0..<blocks).map { b in
                    0.9 - progress * 0.3 * Double(s) / Double(max(1, segments)) * Double(b + 1) / Double(blocks)
                }
            }
            let l2: [Double] =
                l2Weights.map { n in (0..<n).map { 1e-4 * exp(progress * 4 * sin(Double($0) * 0.37)) } }
                ?? (0..<(hidden.count + 1)).map { 1e-4 * exp(progress * Double($0 + 1)) }
            let scales: [Double] = (0..<blocks).map { 0.1 * exp(-progress * Double($0) * 0.4) }
            var hyper: JSONObject = [
                "learning_rate": JSONValue(rate), "momentum": JSONValue(momentum),
                "l2": JSONValue(l2), "init_scale": JSONValue(scales),
            ]
            if let rows = trainingRows {
                hyper["training_data"] = JSONValue(
                    (0..<rows).map { r in
                        (0..<64).map { p in sin(Double(p * (r + 1)) * 0.2) * (0.5 + progress) }
                    })
            }
            let gradient: JSONValue =
                m == count - 1
                ? .null
                : [
                    "learning_rate": JSONValue(rate.map { $0.map { $0 * 0.01 / Double(m + 1) } }),
                    "l2": JSONValue(l2.map { _ in 0.001 }),
                ]
            return [
                "meta_iteration": .number(Double(m)),
                "training_loss": .number(0.05 + 0.6 * exp(-3 * progress)),
                "validation_loss": .number(0.25 + 0.5 * exp(-2 * progress)),
                "validation_error": .number(0.06 + 0.1 * exp(-2 * progress)),
                "hyperparameters": .object(hyper),
                "hypergradient": gradient,
                "training_curve": [
                    "every": 1,
                    "losses": JSONValue(
                        (0..<iterations).map { t in 2.3 * exp(-Double(t) * (0.02 + 0.05 * progress)) + 0.05 }),
                ],
                "seconds": 0.8,
            ]
        }
    }
}

extension JSONValue {
    fileprivate var asHidden: JSONValue { ["hidden": self, "activation": "tanh"] }
}
