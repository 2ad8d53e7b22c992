/**
 * The model zoo: ready-made networks for the two kinds of data splitgate is proven on,
 * each with a default (vanilla) cut, a label-private U-shaped cut and an alternate cut.
 *
 * @example
 * ```ts
 * import { zooModel } from "./mod.ts";
 * const { model, cuts } = zooModel("cnn", { image: { channels: 1, size: 28 } }, Math.random);
 * console.log(model.graph.nodes.length > 0, cuts.default); // true ["block1/pool/MaxPool_output_0"]
 * ```
 * @module
 */
export { buildCnn, type CnnOptions, type ZooModel } from "./cnn.ts";
export { buildEhr, type EhrOptions } from "./ehr.ts";
export { buildFtTransformer, type FtTransformerOptions } from "./ft_transformer.ts";
export { NetBuilder } from "./net_builder.ts";
export { ZOO_NAMES, type ZooDataSpec, zooModel, type ZooName } from "./zoo_model.ts";
