"""affsig from Python: non-linearity signatures of PyTorch models, computed by an affsig-server.

    import affsig
    client = affsig.Client()                                   # $AFFSIG_SERVER
    signature = client.submit(model=model, input=batch).result()
    signature.to_pandas()                                      # one row per activation call
    signature.plot()
    client.cluster(labels={"suite": "zoo"}).dendrogram()       # the paper's analyses

An eager ``torch.nn.Module`` is exported to TorchScript on the fly (:func:`export`, which also
writes files to submit later); torch, NumPy, pandas, matplotlib, SciPy and tqdm are used when
installed and only where needed, so that listing jobs needs none of them.
"""

from affsig._analyses import Clustering, Comparison, Correlation, CorrelationGroup
from affsig._client import DEFAULT_SERVER, Client, Job
from affsig._errors import AffsigError, JobFailedError, ServerError
from affsig._export import ExportWarning, FunctionalActivationsWarning, export
from affsig._signature import Signature, Summary, plot, summaries
from affsig._version import __version__

__all__ = [
    "DEFAULT_SERVER", "AffsigError", "Client", "Clustering", "Comparison", "Correlation",
    "CorrelationGroup", "ExportWarning", "FunctionalActivationsWarning", "Job", "JobFailedError",
    "ServerError", "Signature", "Summary", "__version__", "export", "plot", "summaries",
]
