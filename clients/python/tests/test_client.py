"""The client against a real Rewind service at REWIND_URL (the Swift test PythonClientTests starts
one on a free loopback port and runs this file with python3 -m unittest)."""

import os
import tempfile
import unittest
from pathlib import Path

from rewind_client import Client, FieldError, JobTimeout, RewindError, new_idempotency_key

SMALL = {
    "name": "python small",
    "dataset": {"name": "digits"},
    "split": {"train": 200, "validation": 100},
    "model": {"hidden": [8]},
    "training": {"iterations": 10, "batch_size": 20},
    "meta": {"iterations": 3},
}


class ClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rewind = Client(os.environ["REWIND_URL"])

    def test_a_submitted_job_runs_to_its_result_history_and_schedule(self):
        job = self.rewind.submit(SMALL)
        self.assertEqual(job["status"], "queued")
        done = self.rewind.wait(job["id"], timeout=60, poll=0.05)
        self.assertEqual(done["status"], "succeeded")
        history = self.rewind.history(job["id"])
        self.assertEqual([item["meta_iteration"] for item in history], [0, 1, 2, 3])
        result = self.rewind.result(job["id"])
        self.assertFalse(result["partial"])
        self.assertEqual(result["final"], history[-1])
        table = self.rewind.schedule(job["id"], item=1)
        self.assertEqual(len(table["learning_rate"]), 10)
        self.assertEqual([block["name"] for block in table["blocks"]], ["W1", "b1", "W2", "b2"])
        self.assertIn(job["id"], [listed["id"] for listed in self.rewind.jobs(status="succeeded")])
        self.rewind.delete(job["id"])
        with self.assertRaises(RewindError) as raised:
            self.rewind.job(job["id"])
        self.assertEqual(raised.exception.status, 404)

    def test_a_weight_sharing_job_returns_its_learned_transforms(self):
        job = self.rewind.submit({
            "kind": "weight_sharing", "name": "python sharing",
            "model": {"hidden": [4], "sharing": {"tasks": "alphabets+rotations", "alphabets": 1}},
            "training": {"iterations": 3}, "meta": {"iterations": 1},
        })
        done = self.rewind.wait(job["id"], timeout=120, poll=0.05)
        self.assertEqual(done["status"], "succeeded")
        learned = self.rewind.transforms(job["id"])
        self.assertEqual(learned["tasks"], ["Balinese", "Balinese rotated"])
        self.assertEqual([len(t) for t in learned["transforms"]], [2, 2])
        initial = self.rewind.transforms(job["id"], item=0)
        self.assertEqual(initial["transforms"][0], [[0.55, 0.05], [0.05, 0.55]])
        self.assertNotEqual(initial["transforms"], learned["transforms"])
        with self.assertRaises(ValueError):
            self.rewind.transforms(job["id"], item=5)

    def test_a_layered_model_names_its_blocks_after_its_layers(self):
        layers = [{"type": "conv2d", "filters": 2, "kernel": 3, "padding": "same"}, {"type": "relu"},
                  {"type": "maxpool", "size": 2}]
        job = self.rewind.submit(dict(SMALL, name="python conv", model={"layers": layers}))
        done = self.rewind.wait(job["id"], timeout=60, poll=0.05)
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(done["spec"]["model"]["layers"][0]["filters"], 2)
        table = self.rewind.schedule(job["id"], item=1)
        self.assertEqual([block["name"] for block in table["blocks"]],
                         ["conv2d_1.weights", "conv2d_1.biases", "dense_1.weights", "dense_1.biases"])
        filters = self.rewind.result(job["id"])["final"]["first_conv_filters"]
        self.assertEqual((filters["filters"], filters["kernel"], filters["channels"]), (2, 3, 1))
        self.assertEqual(len(filters["values"]), 18)
        with self.assertRaises(RewindError) as raised:
            self.rewind.submit(dict(SMALL, model={"layers": [{"type": "conv2d", "filters": 2, "kernel": 9, "padding": "valid"}]}))
        self.assertEqual(raised.exception.status, 422)
        self.assertEqual([e.field for e in raised.exception.errors], ["/model/layers/0"])

    def test_an_invalid_spec_raises_with_every_field(self):
        with self.assertRaises(RewindError) as raised:
            self.rewind.submit({"dataset": {"name": "digits"}, "training": {"iterations": 0}, "model": {"activation": "swish"}})
        error = raised.exception
        self.assertEqual(error.status, 422)
        self.assertEqual(error.type, "/problems/invalid-spec")
        fields = {e.field for e in error.errors}
        self.assertEqual(fields, {"/training/iterations", "/model/activation"})
        self.assertTrue(all(isinstance(e, FieldError) and e.message for e in error.errors))
        self.assertIn("/training/iterations", str(error))

    def test_idempotent_submissions_return_the_same_job(self):
        key = new_idempotency_key()
        first = self.rewind.submit(dict(SMALL, name="python idempotent"), idempotency_key=key)
        again = self.rewind.submit(dict(SMALL, name="python idempotent"), idempotency_key=key)
        self.assertEqual(first["id"], again["id"])
        self.rewind.wait(first["id"], timeout=60, poll=0.05)

    def test_wait_gives_up_with_the_last_resource(self):
        job = self.rewind.submit(dict(SMALL, name="python slow", meta={"iterations": 200}))
        with self.assertRaises(JobTimeout) as raised:
            self.rewind.wait(job["id"], timeout=0.01, poll=0.01)
        self.assertEqual(raised.exception.job["id"], job["id"])
        self.rewind.cancel(job["id"])
        self.assertEqual(self.rewind.wait(job["id"], timeout=30, poll=0.05)["status"], "cancelled")

    def test_an_uploaded_file_is_named_after_itself_and_usable_by_name(self):
        rows = "".join(f"{(i % 7) / 7},{(i * 5 % 11) / 11},{i % 3}\n" for i in range(60))
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "pyblobs.csv"
            path.write_text("x,y,label\n" + rows)
            dataset = self.rewind.upload_dataset(path)
        self.assertEqual((dataset["name"], dataset["rows"], dataset["classes"]), ("pyblobs", 60, 3))
        self.assertIn("pyblobs", [d["name"] for d in self.rewind.datasets()])
        job = self.rewind.submit({
            "dataset": {"name": "pyblobs"}, "split": {"train": 40, "validation": 20},
            "model": {"hidden": [4]}, "training": {"iterations": 5, "batch_size": 10}, "meta": {"iterations": 1}})
        self.assertEqual(job["name"], "pyblobs schedules")
        self.assertEqual(self.rewind.wait(job["id"], timeout=60, poll=0.05)["status"], "succeeded")
        with self.assertRaises(RewindError) as raised:
            self.rewind.upload_dataset(b"0.5,0\n0.25,1\n", name="pyblobs")
        self.assertEqual(raised.exception.status, 409)
        self.rewind.delete_dataset(dataset["id"])

    def test_upload_arrays_sends_images_as_npz_that_keep_their_shape(self):
        try:
            import numpy as np
        except ImportError:
            self.skipTest("numpy is not installed")
        y = np.arange(45) % 3
        x = (np.arange(45 * 36).reshape(45, 6, 6) % 17 + 40 * y[:, None, None]).astype(np.uint8)
        dataset = self.rewind.upload_arrays("pyimages", x, y)
        self.assertEqual((dataset["rows"], dataset["features"], dataset["classes"]), (45, 36, 3))
        self.assertEqual(dataset["shape"], [6, 6, 1])
        # A saved .npz file goes through upload_dataset too.
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "pytable.npz"
            np.savez(path, x=x.reshape(45, 36).astype(np.float64) / 255, y=y)
            table = self.rewind.upload_dataset(path)
        self.assertEqual((table["name"], table["shape"]), ("pytable", [36]))
        with self.assertRaises(RewindError) as raised:
            self.rewind.upload_arrays("pybad", x, y[:44])
        self.assertEqual(raised.exception.status, 422)
        self.assertIn("N must match", raised.exception.detail)
        self.rewind.delete_dataset(dataset["id"])
        self.rewind.delete_dataset(table["id"])

    def test_a_job_on_class_sorted_unshuffled_data_carries_warnings(self):
        # 30 rows per class, sorted by class: unshuffled, the training split sees one class only.
        rows = "".join(f"{i % 5},{(i * 3) % 7},{i // 30}\n" for i in range(90))
        dataset = self.rewind.upload_dataset(rows.encode(), name="pysorted")
        self.assertTrue(dataset["detected"]["labels_sorted"])
        job = self.rewind.submit({
            "dataset": {"id": dataset["id"]}, "split": {"train": 30, "validation": 30, "test": 30, "shuffle": False},
            "model": {"hidden": [4]}, "training": {"iterations": 5}, "meta": {"iterations": 1}})
        codes = [w["code"] for w in job["warnings"]]
        self.assertIn("sorted-labels-not-shuffled", codes)
        self.rewind.wait(job["id"], timeout=60, poll=0.05)
        codes = [w["code"] for w in self.rewind.warnings(job["id"])]
        self.assertIn("few-training-classes", codes)
        self.rewind.delete(job["id"])
        self.rewind.delete_dataset(dataset["id"])


if __name__ == "__main__":
    unittest.main()
