/** The BERT-family text encoder (model_types roberta, xlm-roberta, bert): config and model. */
export * from "./config.js";
export * from "./model.js";
