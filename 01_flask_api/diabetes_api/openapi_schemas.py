"""Los esquemas JSON del documento OpenAPI, generados de la ficha: las variables solo viven en ella."""


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def feature_schema(feature):
    text = f"{feature['label']} ({feature['unit']}). {feature['description']}"
    ranged = {"type": feature["type"], "minimum": feature["min"], "maximum": feature["max"]}
    if not feature["zero_means_missing"]:
        return {**ranged, "description": text}
    return {"description": text + " 0 significa «no medido».", "anyOf": [ranged, {"const": 0}]}


def schemas(card, max_batch):
    features = card["features"]
    example = {f["name"]: f["min"] for f in features}
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    result = {"prediction": {"type": "integer", "enum": [c["value"] for c in card["classes"]]},
              "label": {"type": "string", "enum": [c["label"] for c in card["classes"]]},
              "probability": probability}
    stats = {"hits": {"type": "integer"}, "misses": {"type": "integer"},
             "size": {"type": "integer"}, "maxsize": {"type": "integer"}}
    detail = {"type": "object", "required": ["field", "message"],
              "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    return {
        "Patient": {"type": "object", "additionalProperties": False, "required": [f["name"] for f in features],
                    "properties": {f["name"]: feature_schema(f) for f in features}, "example": example},
        "Batch": {"type": "object", "additionalProperties": False, "required": ["instances"],
                  "properties": {"instances": {"type": "array", "minItems": 1, "maxItems": max_batch,
                                               "items": ref("Patient")}}},
        "Result": {"type": "object", "required": list(result), "properties": result},
        "Prediction": {"type": "object", "required": [*result, "model_version"],
                       "properties": {**result, "model_version": {"type": "string"}}},
        "BatchPrediction": {"type": "object", "required": ["predictions", "model_version"],
                            "properties": {"predictions": {"type": "array", "items": ref("Result")},
                                           "model_version": {"type": "string"}}},
        "CacheStats": {"type": "object", "required": list(stats), "properties": stats},
        "Health": {"type": "object", "required": ["status", "model_version"],
                   "properties": {"status": {"type": "string", "const": "ok"}, "model_version": {"type": "string"}}},
        "ModelCard": {"type": "object", "description": "La ficha (model.json) más las estadísticas de caché.",
                      "required": ["version", "features", "classes", "metrics", "cache"],
                      "properties": {"version": {"type": "string"}, "features": {"type": "array"},
                                     "classes": {"type": "array"}, "metrics": {"type": "object"},
                                     "cache": ref("CacheStats")}},
        "Metrics": {"type": "object", "required": ["model_version", "cache", "requests"],
                    "properties": {"model_version": {"type": "string"}, "cache": ref("CacheStats"),
                                   "requests": {"type": "object", "properties": {
                                       "total": {"type": "integer"},
                                       "by_status": {"type": "object", "additionalProperties": {"type": "integer"}}}}}},
        "Index": {"type": "object", "properties": {"name": {"type": "string"}, "model_version": {"type": "string"},
                                                   "links": {"type": "object"}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string", "examples": ["validation_error"]},
                           "message": {"type": "string"}, "details": {"type": "array", "items": detail}}}}},
    }
