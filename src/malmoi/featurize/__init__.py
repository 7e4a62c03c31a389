"""Features of an analysed utterance: hashed token pieces for the encoders, sparse n-grams for
the intent head (:mod:`malmoi.featurize.lexical`)."""
