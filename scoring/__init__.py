"""Model lifecycle: schema, synthetic data, features, training, loading and prediction."""
