"""Local stand-ins for the example pipeline's tasks, for `sfn-cache verify --tasks` and `run --tasks`.

Each public function answers the Lambda of the same name; TASKS maps the service integrations by
Resource ARN. A result should be a function of the input only, as the real job's would be.
"""


def _train_model(event):
    return {"model_uri": f"s3://ml-models/{event['region']}/{event['features']}",
            "metrics": {"auc": 0.9 if event["region"] == "eu-west-1" else 0.82}}


def _evaluate_model(model):
    return {"model_uri": model["model_uri"], "metrics": model["metrics"]}


TASKS = {
    "train-model": _train_model,
    "evaluate-model": _evaluate_model,
    "arn:aws:states:::glue:startJobRun.sync": lambda job: {"Id": "jr_" + job["Arguments"]["--snapshot"],
                                                           "JobRunState": "SUCCEEDED"},
    "register-model": lambda event: {"registered": event["models"][0]["model_uri"]},
    "write-report": lambda event: {"report": len(event["models"])},
    "arn:aws:states:::sns:*": lambda message: {"MessageId": "local"},
}
